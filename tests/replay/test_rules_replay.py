"""Replays against the exact stored rule pack, and impact analysis of a changed pack."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.models.events import Event
from engine.replay import ensure_pack_stored, impact, load_stored_pack, replay
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack

ARMS = Path(__file__).resolve().parents[2] / "rules" / "dprk" / "arms"


def rules_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(ARMS, root / "dprk" / "arms")
    return root


def raw_event(event_id: str, origin="KP", hs="930690", when="2023-09-07T06:00:00+09:00") -> dict:
    return {
        "event_id": event_id, "event_type": "shipment", "occurred_at": when, "source": "t",
        "shipment": {"origin": {"country": origin, "name": "Najin"}, "destination": {"country": "RU", "name": "Dunay"},
                     "goods": [{"hs_code": hs, "description": "ammunition"}]},
    }  # fmt: skip


def store_and_decide(evaluator: Evaluator, raws: list[dict]) -> None:
    from engine.storage import repository

    events = [(r, Event.model_validate(r), repository.sha256_of(r)) for r in raws]
    repository.store_events(events)
    decisions = evaluator.evaluate_many([e for _r, e, _h in events])
    repository.save_decisions(
        decisions, {e.event_id: e.occurred_at.astimezone(UTC) for _r, e, _h in events}
    )


def test_pack_is_stored_once_and_rebuilds_bit_for_bit(db, tmp_path):
    pack = load_pack(rules_copy(tmp_path))
    assert ensure_pack_stored(pack) == pack.version
    assert ensure_pack_stored(pack) == pack.version  # idempotent
    again = load_stored_pack(pack.version)
    assert again.version == pack.version and again.files == pack.files
    assert [r.id for r in again.rules] == [r.id for r in pack.rules]


def test_replay_is_identical_even_after_the_rule_files_changed(db, tmp_path):
    root = rules_copy(tmp_path)
    pack = load_pack(root)
    ensure_pack_stored(pack)
    ev = Evaluator(pack)
    store_and_decide(ev, [raw_event("r-1"), raw_event("r-2", origin="CN", hs="8471")])
    # The working rule files change afterwards (1874 OP9 removed): the replay must still use the old pack.
    (root / "dprk" / "arms" / "UNSCR-1874-OP9.yaml").unlink()
    for event_id, status in (("r-1", "flagged"), ("r-2", "clear")):
        result = replay(event_id)
        assert result.identical, result.diff
        assert result.original.status == status == result.replayed.status
        assert result.replayed.rule_pack_version == pack.version
    assert {v.rule_id for v in replay("r-1").replayed.violations} >= {
        "UNSCR-1718-OP8b",
        "UNSCR-1874-OP9",
    }


def test_replay_reports_a_difference(db, tmp_path):
    from sqlalchemy import update

    from engine.storage.db import session_scope
    from engine.storage.tables import DecisionRow

    pack = load_pack(rules_copy(tmp_path))
    ensure_pack_stored(pack)
    store_and_decide(Evaluator(pack), [raw_event("r-3")])
    with session_scope() as s:  # simulate a decision that was recorded wrongly
        s.execute(
            update(DecisionRow)
            .where(DecisionRow.event_id == "r-3")
            .values(status="clear", violations=[])
        )
    result = replay("r-3")
    assert not result.identical
    assert any(line.startswith("status: clear -> flagged") for line in result.diff)
    assert any("UNSCR-1874-OP9 now fires" in line for line in result.diff)


def test_replay_of_unknown_event(db):
    with pytest.raises(LookupError):
        replay("no-such-event")


def test_impact_lists_the_decisions_a_change_would_change(tmp_path):
    old_root = rules_copy(tmp_path / "old")
    new_root = rules_copy(tmp_path / "new")
    f = new_root / "dprk" / "arms" / "UNSCR-1874-OP9.yaml"
    f.write_text(f.read_text().replace("effective_from: 2009-06-12", "effective_from: 2024-01-01"))
    events = [Event.model_validate(raw_event("i-1")), Event.model_validate(raw_event("i-2", when="2025-01-01T00:00:00Z")),
              Event.model_validate(raw_event("i-3", origin="CN", hs="8471"))]  # fmt: skip
    report = impact(load_pack(old_root), load_pack(new_root), events)
    assert report.evaluated == 3
    assert (
        report.rules_modified == ["UNSCR-1874-OP9"]
        and not report.rules_added
        and not report.rules_removed
    )
    outcome = [i for i in report.changed if i.outcome_changed]
    assert [i.event_id for i in outcome] == ["i-1"]  # 2023: 1874 OP9 no longer applies
    assert (
        outcome[0].removed == ["UNSCR-1874-OP9"] and outcome[0].after.status == "flagged"
    )  # 1718 OP8(b) stays
    detail = [i for i in report.changed if not i.outcome_changed]
    assert [i.event_id for i in detail] == [
        "i-2"
    ]  # 2025: still fires, evidence says "in force from 2024-01-01"
    assert any("evidence" in line for line in detail[0].diff)


def test_cli_replay_and_impact(db, tmp_path):
    from engine.config import get_settings
    from sanctions_cli import main

    root = rules_copy(tmp_path)
    pack = load_pack(root)
    ensure_pack_stored(pack)
    store_and_decide(Evaluator(pack), [raw_event("c-1")])
    out = CliRunner().invoke(main, ["rules", "replay", "c-1"])
    assert out.exit_code == 0, out.output
    assert "identical" in out.output
    out = CliRunner().invoke(
        main, ["rules", "impact", "--against", pack.version, "--dir", str(root)]
    )
    assert out.exit_code == 0, out.output
    assert "0 decision(s) would change" in out.output
    assert get_settings().rules_dir  # settings untouched

"""History rules over the real store: they read earlier stored events and decisions, and a replay
of a history-based decision is identical after later (and backdated) events arrive."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

from engine.models.events import Event
from engine.replay import ensure_pack_stored, replay
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack
from engine.vessels.history import StoredHistory, VesselHistory

RULES = Path(__file__).resolve().parents[2] / "rules"


def small_pack(tmp_path: Path):
    root = tmp_path / "rules"
    for part in ("dprk/arms", "dprk/history"):
        shutil.copytree(RULES / part, root / part)
    return load_pack(root)


def store_and_decide(evaluator: Evaluator, raws: list[dict]) -> None:
    from engine.storage import repository

    events = [(r, Event.model_validate(r), repository.sha256_of(r)) for r in raws]
    repository.store_events(events)
    decisions = evaluator.evaluate_many([e for _r, e, _h in events])
    repository.save_decisions(
        decisions, {e.event_id: e.occurred_at.astimezone(UTC) for _r, e, _h in events}
    )


def arms_voyage(event_id: str, imo: str, when: str) -> dict:
    return {
        "event_id": event_id, "event_type": "shipment", "occurred_at": when, "source": "t",
        "shipment": {"mode": "sea", "vessel": {"name": "ANGARA", "imo": imo, "flag": "RU"},
                     "origin": {"country": "KP", "name": "Najin"},
                     "destination": {"country": "RU", "name": "Dunay"},
                     "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]},
    }  # fmt: skip


def port_call(event_id: str, imo: str, when: str, name: str = "ANGARA", flag: str = "RU") -> dict:
    return {
        "event_id": event_id, "event_type": "vessel_movement", "occurred_at": when, "source": "t",
        "vessel_movement": {"kind": "port_call", "vessel": {"name": name, "imo": imo, "flag": flag},
                            "port": {"country": "CN", "name": "Zhoushan"}},
    }  # fmt: skip


def decision_of(event_id: str):
    from sqlalchemy import select

    from engine.storage.db import session_scope
    from engine.storage.tables import DecisionRow

    with session_scope() as s:
        row = s.scalar(select(DecisionRow).where(DecisionRow.event_id == event_id))
        assert row is not None
        return row.status, {v["rule_id"]: v for v in row.violations}


def test_port_call_after_flagged_voyage_fires_and_replays_identically(db, tmp_path):
    pack = small_pack(tmp_path)
    ensure_pack_stored(pack)
    history = VesselHistory(StoredHistory())
    ev = Evaluator(pack, history=history)
    imo = "9123453"
    store_and_decide(ev, [arms_voyage("vh-arms-1", imo, "2018-09-07T06:00:00+09:00")])
    assert decision_of("vh-arms-1")[0] == "flagged"
    # a call before any flagged activity of another hull, and the call after the flagged voyage
    store_and_decide(ev, [port_call("vh-call-other", "9135793", "2019-06-01T08:00:00Z")])
    store_and_decide(ev, [port_call("vh-call-1", imo, "2019-06-01T08:00:00Z", "NEW NAME", "SL")])
    status, violations = decision_of("vh-call-1")
    assert status == "flagged"
    port = violations["UNSCR-2397-OP9-PORT"]
    relied = [e["value"] for e in port["evidence"] if e["path"].startswith("history.")]
    assert relied == ["vh-arms-1"]
    laundering = violations["UNSCR-2397-OP12-IDENTITY"]
    assert [e["value"] for e in laundering["evidence"] if e["path"].startswith("history.")] == [
        "vh-arms-1"
    ]
    assert decision_of("vh-call-other")[0] == "clear"

    # Later events arrive: another flagged voyage BACKDATED before the other hull's call, and a
    # newer voyage of the first hull. Replays of both calls must not change.
    store_and_decide(
        ev,
        [
            arms_voyage("vh-arms-other", "9135793", "2019-03-01T00:00:00Z"),
            arms_voyage("vh-arms-2", imo, "2019-05-01T00:00:00Z"),
        ],
    )
    for event_id in ("vh-call-1", "vh-call-other"):
        result = replay(event_id, history=VesselHistory(StoredHistory()))
        assert result.identical, result.diff
    assert (
        replay("vh-call-other", history=VesselHistory(StoredHistory())).replayed.status == "clear"
    )
    # ... while a fresh evaluation of the other hull's call now sees the backdated voyage
    fresh = Evaluator(pack, history=VesselHistory(StoredHistory())).evaluate(
        Event.model_validate(port_call("vh-call-other", "9135793", "2019-06-01T08:00:00Z"))
    )
    assert "UNSCR-2397-OP9-PORT" in {v.rule_id for v in fresh.violations}


def test_decisions_of_one_batch_do_not_see_each_other(db, tmp_path):
    """The flagged voyage and the call decided in one batch: the call is clear, live and in its
    replay (the voyage's decision was not stored when the batch was decided)."""
    pack = small_pack(tmp_path)
    ensure_pack_stored(pack)
    ev = Evaluator(pack, history=VesselHistory(StoredHistory()))
    imo = "9246803"
    store_and_decide(
        ev,
        [
            arms_voyage("vh-b-arms", imo, "2018-09-07T06:00:00+09:00"),
            port_call("vh-b-call", imo, "2019-06-01T08:00:00Z"),
        ],
    )
    assert decision_of("vh-b-call")[0] == "clear"
    result = replay("vh-b-call", history=VesselHistory(StoredHistory()))
    assert result.identical, result.diff

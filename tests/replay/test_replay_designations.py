"""Decisions on the designations of the event's day, end to end: real snapshots imported into the
database, the worker's evaluator with the default screener, the stored decision, and its replay
after a later import. The FTB onboardings of issue 11 (KPe.047, listed 5 Aug 2017, between the
2017-07-03 and 2020-11-30 files) and QDe.137 (removed between 2026-02-27 and 2026-05-08)."""

from __future__ import annotations

from typing import Any

from lists_support import list_file, parsed
from screening_support import decide_with as decide

from engine.lists.history import reconstruction_version
from engine.lists.importer import import_list
from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack


def onboarding(event_id: str, at: str, name: str, bic: str | None = None) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": event_id,
        "action": "onboard",
        "name": name,
        "kind": "organization",
    }
    if bic:
        entity["identifiers"] = {"bic": bic}
    return {
        "event_id": event_id,
        "event_type": "entity",
        "occurred_at": at,
        "source": "test",
        "entity": entity,
    }


def test_ftb_onboardings_flagged_and_replayed_identically_after_a_later_import(
    db: None, fresh_screening: None
) -> None:
    from engine.replay import replay
    from engine.screening import default_screener

    for day in ("2017-07-03", "2026-05-08"):
        import_list(str(list_file(day)), retro=False)
    evaluator = Evaluator(load_pack(), screener=default_screener)
    cited = reconstruction_version([parsed("2017-07-03").sha256, parsed("2026-05-08").sha256])
    for event_id, at in (
        ("ftb-2018", "2018-02-01T09:00:00Z"),
        ("ftb-2020", "2020-01-15T09:00:00Z"),
    ):
        raw = onboarding(event_id, at, "Foreign Trade Bank of the DPRK", "FTBDKPPY")
        decision = evaluator.evaluate(Event.model_validate(raw))
        assert decision.status == "flagged", decision
        freeze = next(v for v in decision.violations if v.rule_id == "UNSCR-1718-OP8d")
        assert "KPe.047" in freeze.reason
        notes = " ".join(e.note or "" for e in freeze.evidence)
        assert "KPe.047 listed on 2017-08-05" in notes
        assert freeze.confidence != "low"
        assert decision.list_version == cited
        decide(raw, evaluator)
    before = evaluator.evaluate(
        Event.model_validate(onboarding("ftb-2017", "2017-08-01T09:00:00Z", "FOREIGN TRADE BANK"))
    )
    assert "UNSCR-1718-OP8d" not in {v.rule_id for v in before.violations}

    # a later import (an older file) changes the reconstruction; replays keep the one they cited
    import_list(str(list_file("2020-11-30")), retro=False)
    assert (
        default_screener().version_at(
            Event.model_validate(onboarding("x", "2018-02-01T00:00:00Z", "x")).occurred_at
        )
        != cited
    )
    result = replay("ftb-2018", screener=default_screener())  # one: each replay re-reads the pack
    assert result.identical, result.diff
    assert result.replayed.list_version == cited


def test_removed_entry_flagged_before_marked_inside_clear_after(
    db: None, fresh_screening: None
) -> None:
    from engine.screening import default_screener

    for day in ("2026-02-27", "2026-05-08"):
        import_list(str(list_file(day)), retro=False)
    evaluator = Evaluator(load_pack(), screener=default_screener)
    name = "AL-NUSRAH FRONT FOR THE PEOPLE OF THE LEVANT"

    def freeze(at: str):
        d = evaluator.evaluate(Event.model_validate(onboarding(f"aq-{at}", at, name)))
        return [v for v in d.violations if "QDe.137" in v.reason or "QDe.137" in str(v.evidence)]

    before = freeze("2026-01-10T00:00:00Z")
    assert before and before[0].confidence != "low"
    inside = freeze("2026-04-01T00:00:00Z")
    assert inside and inside[0].confidence == "low"
    assert any(
        "removal known only to lie between 2026-02-27" in (e.note or "") for e in inside[0].evidence
    )
    assert freeze("2026-05-20T00:00:00Z") == []

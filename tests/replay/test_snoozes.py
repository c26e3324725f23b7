"""Snoozes: a senior officer snoozes an alert; a later flagged decision about the same vessel or
party, rule and material facts is stored flagged as ever but opens no alert, and joins the
snoozed case as an occurrence marked snoozed; changed facts, expiry, a lift or an amended list
entry alert again; a replay reads the snooze version the decision was judged against.

Real database, real pipeline writes (save_decisions), real evaluator for the replay.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import web_seed
from sqlalchemy import select

from engine.cases.tables import CaseAlertRow, CaseEventRow
from engine.snoozes import store
from engine.snoozes.facts import fingerprint, material_facts
from engine.snoozes.tables import SnoozeOccurrenceRow
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.repository import event_with_decision
from engine.storage.tables import AlertRow

IMO = "9179842"


@pytest.fixture
def people(db: None) -> None:
    from web.auth.accounts import create_user

    create_user("sam", "long enough password", "senior_officer", actor="pytest")
    create_user("olga", "long enough password", "officer", actor="pytest")


def _ship(event_id: str, imo: str = IMO, hs: str = "9306") -> dict[str, Any]:
    raw = copy.deepcopy(web_seed.NAJIN_DUNAY)
    raw["event_id"] = event_id
    raw["shipment"]["vessel"]["imo"] = imo
    raw["shipment"]["goods"][0]["hs_code"] = hs
    return raw


def _arms(hs: str = "9306"):
    v = web_seed.DPRK_ARMS.model_copy(deep=True)
    v.evidence[1].value = hs
    return v


def _case(alert_id: int) -> int:
    with session_scope() as s:
        return s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id))


def _alerts(event_id: str) -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(AlertRow.id).where(AlertRow.event_id == event_id)))


def _rules(event_id: str) -> set[str]:
    with session_scope() as s:
        return set(s.scalars(select(AlertRow.rule_id).where(AlertRow.event_id == event_id)))


def test_a_snoozed_repeat_is_decided_flagged_but_opens_no_alert(people: None) -> None:
    (first,) = web_seed.store(_ship("sz-1"), [_arms()])
    case_id = _case(first)
    with pytest.raises(store.SnoozeError, match="senior officer"):
        store.create(alert_id=first, key=f"imo:{IMO}", days=7, reason="x", actor="olga")
    with pytest.raises(store.SnoozeError, match="party or vessel keys"):
        store.create(alert_id=first, key="imo:9999999", days=7, reason="x", actor="sam")
    with pytest.raises(store.SnoozeError, match="1 to 30 days"):
        store.create(alert_id=first, key=f"imo:{IMO}", days=31, reason="x", actor="sam")
    snooze = store.create(
        alert_id=first,
        key=f"imo:{IMO}",
        days=7,
        reason="Same Angara voyage re-sent by the TMS on every status change; case open",
        actor="sam",
    )
    assert snooze.case_id == case_id and snooze.rule_id == "UNSCR-1718-OP8b"
    with pytest.raises(store.SnoozeError, match="already covers"):
        store.create(alert_id=first, key=f"imo:{IMO}", days=3, reason="again", actor="sam")

    assert web_seed.store(_ship("sz-2"), [_arms()]) == []  # no new alert
    found = event_with_decision("sz-2")
    assert found is not None
    decision = found["decision"]
    assert decision["status"] == "flagged" and decision["violations"][0]["rule_id"] == (
        "UNSCR-1718-OP8b"
    )
    assert decision["snooze_version"] == store.current_version()
    assert decision["snoozed"] == [
        {"rule_id": "UNSCR-1718-OP8b", "snooze_id": snooze.id, "case_id": case_id}
    ]
    with session_scope() as s:
        link = s.scalar(
            select(CaseEventRow).where(
                CaseEventRow.case_id == case_id, CaseEventRow.event_id == "sz-2"
            )
        )
        assert link is not None and link.role == "occurrence"
        assert link.joined_by == f"snoozed (snooze #{snooze.id})"
        occ = s.scalars(select(SnoozeOccurrenceRow)).all()
        assert [(o.snooze_id, o.event_id, o.origin, o.case_id) for o in occ] == [
            (snooze.id, "sz-2", "live", case_id)
        ]
        audit = s.scalar(select(AuditRow).where(AuditRow.action == "snooze_create"))
        assert audit is not None and audit.alert_id == first and "TMS" in (audit.note or "")

    # the history and the withheld occurrences are journaled (engine/cases/journal.py)
    from engine.audit.records import source_for

    journaled = source_for("snooze_occurrences")
    assert journaled.record(occ[0].__dict__)["event_id"] == "sz-2"
    assert "state" in source_for("snooze_changes").columns

    # the facts change: another HS code, another vessel -> alerts as ever
    assert len(web_seed.store(_ship("sz-3", hs="9301"), [_arms("9301")])) == 1
    assert len(web_seed.store(_ship("sz-4", imo="9000001"), [_arms()])) == 1
    assert event_with_decision("sz-3")["decision"]["snoozed"] == []  # type: ignore[index]

    # lifted: the same facts alert again, and the decision records the newer version
    with pytest.raises(store.SnoozeError, match="needs a note"):
        store.lift(snooze.id, "olga", " ")
    store.lift(snooze.id, "olga", "the TMS fix is live; watch repeats again")
    assert len(web_seed.store(_ship("sz-5"), [_arms()])) == 1
    after = event_with_decision("sz-5")["decision"]  # type: ignore[index]
    assert after["snoozed"] == [] and after["snooze_version"] == store.current_version()


def test_snoozes_expire_and_end_when_the_list_entry_is_amended(people: None) -> None:
    (first,) = web_seed.store(_ship("se-1"), [_arms()])
    store.create(
        alert_id=first,
        key=f"imo:{IMO}",
        days=7,
        reason="expired one",
        actor="sam",
        now=datetime.now(UTC) - timedelta(days=8),
    )
    assert len(web_seed.store(_ship("se-2"), [_arms()])) == 1

    # a screening hit's list entry in the facts; an amendment of that entry ends the snooze
    raw = _ship("se-3")
    hit = web_seed.DPRK_ARMS.model_copy(deep=True)
    hit.evidence.append(
        hit.evidence[0].model_copy(
            update={
                "path": "shipment.parties[0]",
                "value": "Korea Mining Development Trading Corporation",
                "screening": {"reference": "KPe.001", "method": "name_exact", "matched": "KOMID"},
            }
        )
    )
    (third,) = web_seed.store(raw, [hit])
    facts = material_facts(raw, hit.model_dump(mode="json"))
    assert facts["entries"] == [["KPe.001", "KOMID"]]
    assert facts["parties"] == [
        {"name": "korea mining development trading corporation", "country": "KP", "identifiers": {}}
    ]
    party = "party:korea mining development trading corporation|KP"
    snooze = store.create(alert_id=third, key=party, days=5, reason="KOMID repeats", actor="sam")
    assert snooze.fingerprint == fingerprint(facts)
    assert web_seed.store(_ship("se-4"), [hit]) == []
    assert store.end_amended(["KPe.001"]) == [snooze.id]
    assert len(web_seed.store(_ship("se-5"), [hit])) == 1


def _decide(raw: dict[str, Any], evaluator: Any) -> None:
    import engine.pipeline.decide as decide_module
    from engine.pipeline.ingest import ingest_batch
    from engine.replay import ensure_pack_stored

    ensure_pack_stored(evaluator.pack)
    assert ingest_batch([raw], channel="cli")[0].accepted
    previous, decide_module._evaluator = decide_module._evaluator, evaluator
    try:
        assert decide_module.decide_stored([raw["event_id"]]) == [raw["event_id"]]
    finally:
        decide_module._evaluator = previous


def test_replay_reads_the_snooze_version_of_the_decision(people: None) -> None:
    from engine.replay import replay
    from engine.rules.evaluator import Evaluator
    from engine.rules.loader import load_pack

    evaluator = Evaluator(load_pack())
    _decide(_ship("sr-1"), evaluator)
    alerts = _alerts("sr-1")
    assert alerts
    with session_scope() as s:
        rules = {a: s.get(AlertRow, a).rule_id for a in alerts}  # type: ignore[union-attr]
    snoozed_alert = min(alerts)
    store.create(alert_id=snoozed_alert, key=f"imo:{IMO}", days=7, reason="repeats", actor="sam")
    _decide(_ship("sr-2"), evaluator)
    held = event_with_decision("sr-2")["decision"]  # type: ignore[index]
    assert held["status"] == "flagged"
    assert [w["rule_id"] for w in held["snoozed"]] == [rules[snoozed_alert]]
    assert _rules("sr-2") == set(rules.values()) - {rules[snoozed_alert]}

    (active,) = store.rows("active")
    store.lift(active.id, "sam", "done")
    result = replay("sr-2")  # judged against the version it read, at its own time
    assert result.identical, result.diff
    assert result.replayed.snoozed == held["snoozed"]
    _decide(_ship("sr-3"), evaluator)
    assert _rules("sr-3") == set(rules.values())

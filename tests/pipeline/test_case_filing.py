"""Cases: a flagged event opens one case holding its alerts; a later event about the same vessel,
listed party or list entry joins the open case as an occurrence; merge and split move alerts."""

from __future__ import annotations

import copy

from sqlalchemy import select
from web_seed import NAJIN_DUNAY, store, violation

from engine.cases.actions import merge, split, sync
from engine.cases.tables import CaseAlertRow, CaseEventRow, CaseRow
from engine.models.decisions import Evidence
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.tables import AlertRow


def _event(event_id: str, imo: str | None, consignee: str = "Dunay Logistics LLC") -> dict:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["event_id"] = event_id
    raw["shipment"]["vessel"] = {"name": "SHIP " + event_id, **({"imo": imo} if imo else {})}
    raw["shipment"]["parties"][1]["name"] = consignee
    return raw


def _screened(rule: str, reference: str, party_index: int = 0):
    v = violation(rule, severity="critical")
    v.evidence.append(
        Evidence(
            path=f"shipment.parties[{party_index}]",
            value="Korea Mining Development Trading Corporation",
            note=f"name match [DPRK {reference}]",
            screening={"reference": reference, "method": "exact", "matched": "x", "score": 1.0},
        )
    )
    return v


def _case_of(alert_id: int) -> int:
    with session_scope() as s:
        case_id = s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id))
    assert case_id is not None
    return case_id


def _events(case_id: int) -> list[tuple[str, str, str | None]]:
    with session_scope() as s:
        rows = s.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        )
        return [(r.event_id, r.role, r.joined_by) for r in rows]


def test_one_case_per_event_and_a_later_event_of_the_vessel_joins_it(db: None) -> None:
    first = store(_event("c-1", "9179842"), [violation("A"), violation("B", severity="critical")])
    assert len(first) == 2
    case_id = _case_of(first[0])
    assert _case_of(first[1]) == case_id
    (later,) = store(_event("c-2", "IMO 9179842"), [violation("A")])
    assert _case_of(later) == case_id
    assert _events(case_id) == [("c-1", "first", None), ("c-2", "occurrence", "imo:9179842")]
    (other,) = store(_event("c-3", "9000001", consignee="Other Co"), [violation("A")])
    assert _case_of(other) != case_id
    with session_scope() as s:
        case = s.get(CaseRow, case_id)
        assert case is not None
        assert (case.status, case.severity) == ("open", "critical")


def test_the_list_entry_and_the_listed_party_join_events_of_different_vessels(db: None) -> None:
    (a,) = store(_event("e-1", None), [_screened("AF", "KPe.047")])
    (b,) = store(_event("e-2", None, consignee="Someone Else"), [_screened("AF", "KPe.047")])
    assert _case_of(a) == _case_of(b)
    assert _events(_case_of(a))[1][2] in (
        "entry:KPe.047",
        "party:korea mining development trading corporation|KP",
    )
    # an unscreened consignee on every message of a client does not join cases by itself
    (c,) = store(_event("e-3", None), [violation("A")])
    assert _case_of(c) != _case_of(a)


def test_a_closed_case_is_not_joined_and_reopens_with_its_alert(db: None) -> None:
    (a,) = store(_event("d-1", "9179842"), [violation("A")])
    case_id = _case_of(a)
    with session_scope() as s:
        alert = s.get(AlertRow, a)
        assert alert is not None
        alert.status, alert.resolution = "closed", "false_positive"
        s.flush()
        case = sync(s, case_id, "olga")
        assert (case.status, case.resolution, case.closed_by) == (
            "closed",
            "false_positive",
            "olga",
        )
    (b,) = store(_event("d-2", "9179842"), [violation("A")])
    assert _case_of(b) != case_id


def test_merge_and_split_move_alerts_and_are_audited(db: None) -> None:
    (a,) = store(_event("m-1", "9000001"), [violation("A")])
    (b1, b2) = store(_event("m-2", "9000002"), [violation("A"), violation("B")])
    ca, cb = _case_of(a), _case_of(b1)
    assert ca != cb
    with session_scope() as s:
        merge(s, cb, ca, "olga", "same voyage, two bills of lading")
    assert {_case_of(x) for x in (a, b1, b2)} == {ca}
    with session_scope() as s:
        merged = s.get(CaseRow, cb)
        assert merged is not None and (merged.status, merged.merged_into) == ("merged", ca)
    assert [e[0] for e in _events(ca)] == ["m-1", "m-2"]
    with session_scope() as s:
        new = split(s, ca, [b2], "olga", "the second measure is a separate matter")
        new_id = new.id
    assert _case_of(b2) == new_id and _case_of(b1) == ca
    assert [e[0] for e in _events(new_id)] == ["m-2"]
    assert [e[0] for e in _events(ca)] == ["m-1", "m-2"]  # m-2 keeps its other alert there
    with session_scope() as s:
        actions = list(
            s.scalars(
                select(AuditRow.action).where(AuditRow.target_type == "case").order_by(AuditRow.id)
            )
        )
    assert actions == ["merge_case", "absorb_case", "split_case", "split_into"]

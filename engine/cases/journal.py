"""Tables of the case area that join the audit journal (engine.audit.records imports this
module).

Cases: journaled whole, ``case_changes`` (the history of each case: opened, occurrence absorbed,
closed or re-opened, merged, split, with the case's fields after each) and ``case_keys`` (insert
only); journaled by the columns that never change, ``cases`` (id, opened_at), ``case_events``
(id, event, occurred_at) and ``case_alerts`` (the alert). What changes (a case's status and
closure, which case holds an alert or an event, and in which role) is held to the case history
by state checks: a case, or its alerts, moved or edited in the database without a history row
is named by ``sanctions audit verify``.

Snoozes: the snoozes' append-only history and the alerts they withheld. Only rows that never
change after insert are journaled; a snooze's own row changes (lifted, ended), its history not.
"""

from __future__ import annotations

import typing
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from engine.audit.records import JournalSource, register
from engine.audit.states import StateCheck, StateProblems, differences, register_state_check
from engine.cases.change_tables import CaseChangeRow
from engine.cases.changes import FIELDS, state_of
from engine.cases.tables import CaseAlertRow, CaseEventRow, CaseKeyRow, CaseRow
from engine.snoozes.tables import SnoozeChangeRow, SnoozeOccurrenceRow

CHANGES = typing.cast(Table, CaseChangeRow.__table__)
CASES = typing.cast(Table, CaseRow.__table__)
CASE_ALERTS = typing.cast(Table, CaseAlertRow.__table__)
CASE_EVENTS = typing.cast(Table, CaseEventRow.__table__)
CASE_KEYS = typing.cast(Table, CaseKeyRow.__table__)

register(JournalSource("case_changes", CHANGES, "id", tuple(c.name for c in CHANGES.columns)))
register(JournalSource("cases", CASES, "id", ("id", "opened_at")))
register(JournalSource("case_events", CASE_EVENTS, "id", ("id", "event_id", "occurred_at")))
register(JournalSource("case_alerts", CASE_ALERTS, "alert_id", ("alert_id",)))
register(JournalSource("case_keys", CASE_KEYS, "id", ("id", "case_id", "key")))


def _source(kind: str, row: type, key: str) -> JournalSource:
    table = row.__table__  # type: ignore[attr-defined]
    return JournalSource(kind, table, key, tuple(c.name for c in table.columns))


register(_source("snooze_changes", SnoozeChangeRow, "version"))
register(_source("snooze_occurrences", SnoozeOccurrenceRow, "id"))


def _history(conn: Connection) -> tuple[dict[int, dict[str, Any]], dict[int, int], dict[int, Any]]:
    """Each case's newest state; the case each alert last joined; the case and role each case
    event last joined in (the case history folded in order)."""
    state: dict[int, dict[str, Any]] = {}
    alert_case: dict[int, int] = {}
    event_case: dict[int, tuple[int, str]] = {}
    for case_id, st in conn.execute(
        select(CHANGES.c.case_id, CHANGES.c.state).order_by(CHANGES.c.id)
    ):
        if not isinstance(st, dict):
            continue
        state[int(case_id)] = {f: st.get(f) for f in FIELDS}
        for a in st.get("alerts") or ():
            alert_case[int(a)] = int(case_id)
        for ce, role in st.get("events") or ():
            event_case[int(ce)] = (int(case_id), str(role))
    return state, alert_case, event_case


def _cases(conn: Connection) -> StateProblems:
    state, _, _ = _history(conn)
    for row in conn.execute(select(CASES).order_by(CASES.c.id)):
        journaled = state.get(int(row.id))
        if journaled is None:
            continue  # opened before cases were journaled: no history to hold it to
        diff = differences(state_of(row), journaled)
        if diff:
            yield str(row.id), "case changed outside the application: " + "; ".join(diff)


def _case_alerts(conn: Connection) -> StateProblems:
    _, alert_case, _ = _history(conn)
    for alert_id, case_id in conn.execute(
        select(CASE_ALERTS.c.alert_id, CASE_ALERTS.c.case_id).order_by(CASE_ALERTS.c.alert_id)
    ):
        journaled = alert_case.get(int(alert_id))
        if journaled is not None and journaled != int(case_id):
            yield (
                str(alert_id),
                f"alert is in case {case_id}, journaled in case {journaled} (moved outside the"
                " application)",
            )


def _case_events(conn: Connection) -> StateProblems:
    _, _, event_case = _history(conn)
    for ce_id, case_id, role in conn.execute(
        select(CASE_EVENTS.c.id, CASE_EVENTS.c.case_id, CASE_EVENTS.c.role).order_by(
            CASE_EVENTS.c.id
        )
    ):
        journaled = event_case.get(int(ce_id))
        if journaled is not None and journaled != (int(case_id), str(role)):
            yield (
                str(ce_id),
                f"case event is in case {case_id} as {role}, journaled {journaled[1]} in case"
                f" {journaled[0]} (changed outside the application)",
            )


register_state_check(StateCheck("cases", _cases))
register_state_check(StateCheck("case_alerts", _case_alerts))
register_state_check(StateCheck("case_events", _case_events))

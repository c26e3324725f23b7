"""Four-eyes requests in the audit journal (engine.audit.records imports this module).

Journaled by the columns that never change: ``closure_approvals`` (which alert, the resolution
asked for, by whom, when, and the status it came from) and ``approval_routes`` (what was routed,
for whom, by whom, when). A closure request's decision (decided_by, decision) changes once, in
the transaction that writes the alert's ``approve_closure`` or ``reject_closure`` review action
(web.desk.workflow.decide_closure); the state check below holds each alert's decided requests,
in order, to those journaled actions: a decision written, removed or changed in the database
is named by ``sanctions audit verify``. ``decided_at`` is not held: the action's own time is
taken separately, a few microseconds later. A route's mutable fields (routed_to, pooled_at,
decided_by/at) are not held either (see docs/AUDIT.md, Limits).
"""

from __future__ import annotations

import typing

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from engine.approvals.tables import ApprovalRouteRow
from engine.audit.records import JournalSource, register
from engine.audit.states import StateCheck, StateProblems, register_state_check
from engine.storage.desk_tables import AuditRow, ClosureApprovalRow

CLOSURES = typing.cast(Table, ClosureApprovalRow.__table__)
ROUTES = typing.cast(Table, ApprovalRouteRow.__table__)

register(
    JournalSource(
        "closure_approvals",
        CLOSURES,
        "id",
        ("id", "alert_id", "resolution", "requested_by", "requested_at", "previous_status"),
    )
)
register(
    JournalSource(
        "approval_routes",
        ROUTES,
        "id",
        ("id", "kind", "ref_id", "alert_id", "title", "requested_by", "requested_at"),
    )
)

# the review action that decides a closure request, and the decision it writes
DECIDING = {"approve_closure": "approved", "reject_closure": "rejected"}


def _closure_decisions(conn: Connection) -> StateProblems:
    """Per alert, its decided closure requests (id order) are its journaled approve/reject
    actions (id order): the same deciders, the same decisions, as many."""
    log = typing.cast(Table, AuditRow.__table__)
    acted: dict[int, list[tuple[str, str]]] = {}
    for alert_id, actor, action in conn.execute(
        select(log.c.alert_id, log.c.actor, log.c.action)
        .where(log.c.target_type == "alert", log.c.action.in_(list(DECIDING)))
        .order_by(log.c.id)
    ):
        if alert_id is not None:
            acted.setdefault(int(alert_id), []).append((actor, DECIDING[action]))
    c = CLOSURES.c
    decided: dict[int, list[tuple[int, str | None, str | None]]] = {}
    for rid, alert_id, by, decision in conn.execute(
        select(c.id, c.alert_id, c.decided_by, c.decision).order_by(c.id)
    ):
        decided.setdefault(int(alert_id), []).append((int(rid), by, decision))
    for alert_id, requests in decided.items():
        actions = list(acted.get(alert_id, []))
        for i, (rid, by, decision) in enumerate(requests):
            # only an alert's last request can still wait (a pending alert cannot be closed)
            if decision is None and by is None and i == len(requests) - 1 and not actions:
                continue
            want = actions.pop(0) if actions else None
            if want != (by, decision):
                now = "undecided" if decision is None else f"{decision} by {by!r}"
                held = (
                    "no approve or reject action" if want is None else f"{want[1]} by {want[0]!r}"
                )
                yield (
                    str(rid),
                    f"closure decision changed outside the application: {now}, journaled {held}",
                )
        for actor, decision in actions:  # actions no request's decision accounts for
            yield (
                str(requests[-1][0]),
                "closure decision changed outside the application: no request decided, journaled "
                f"{decision} by {actor!r}",
            )


register_state_check(StateCheck("closure_approvals", _closure_decisions))

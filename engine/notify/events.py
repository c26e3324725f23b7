"""The outbox: what is worth telling, written in the transaction of the change that caused it.

A notification commits or rolls back with its cause (a case and its alerts, a closure request,
an allowlist entry, an SLA breach), so nothing is told that did not happen and nothing that
happened is lost; the dispatcher delivers it later. ``dedupe_key`` is unique: the same fact
written twice (a redelivered batch, two sweepers) is one notification.
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.notify.tables import NotificationRow

if TYPE_CHECKING:
    from engine.cases.filing import Filed

CRITICAL_CASE = "case.critical_opened"
APPROVAL_REQUESTED = "approval.requested"
SLA_BREACHED = "case.sla_breached"
PING = "ping"  # an admin's "send test event": to one endpoint, whatever it subscribes to
EVENT_TYPES = (CRITICAL_CASE, APPROVAL_REQUESTED, SLA_BREACHED)
DESCRIPTIONS = {
    CRITICAL_CASE: "a new case of critical severity",
    APPROVAL_REQUESTED: "a second senior officer's approval is requested (critical closure, "
    "allowlist entry)",
    SLA_BREACHED: "an open case passed its due time",
    PING: "test event sent from the endpoint's page",
}

NOTIFICATIONS = typing.cast(Table, NotificationRow.__table__)


def insert_ignore(conn: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the two supported databases."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def emit(conn: Connection, event_type: str, dedupe_key: str, data: dict[str, Any]) -> bool:
    """Write one notification in the caller's transaction; False if this fact was told already."""
    result = conn.execute(
        insert_ignore(conn, NOTIFICATIONS)
        .values(
            uid="evt_" + secrets.token_hex(12),
            event_type=event_type,
            dedupe_key=dedupe_key[:200],
            data=data,
            created_at=datetime.now(UTC),
        )
        .returning(NOTIFICATIONS.c.id)
    )
    # RETURNING lists only a row inserted (rowcount is -1 with psycopg's implicit RETURNING)
    return result.first() is not None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def case_summary(conn: Connection, case_id: int) -> dict[str, Any]:
    from engine.cases.tables import CaseRow

    cases = typing.cast(Table, CaseRow.__table__)
    row = conn.execute(
        select(
            cases.c.id, cases.c.title, cases.c.severity, cases.c.status, cases.c.opened_at
        ).where(cases.c.id == case_id)
    ).one()
    return {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "opened_at": _iso(row.opened_at),
        "path": f"/cases/{row.id}",
    }


def on_cases_filed(conn: Connection, filed: Iterable[Filed]) -> int:
    """A newly opened case of critical severity: one notification per case."""
    told = 0
    for f in filed:
        if not (f.opened and f.severity == "critical"):
            continue
        case = case_summary(conn, f.case_id)
        told += emit(
            conn,
            CRITICAL_CASE,
            f"{CRITICAL_CASE}:case:{f.case_id}",
            {"case": case, "event_id": f.event_id},
        )
    return told


def closure_requested(
    conn: Connection,
    approval_id: int,
    alert: Any,
    requested_by: str,
    resolution: str,
    case_id: int | None,
    routed_to: str | None = None,
) -> bool:
    """A critical alert's closure waits for a second senior officer (four eyes): ``routed_to``
    names the senior it was routed to (None: the pool of seniors)."""
    return emit(
        conn,
        APPROVAL_REQUESTED,
        f"{APPROVAL_REQUESTED}:closure:{approval_id}",
        {
            "approval": {
                "kind": "closure",
                "id": approval_id,
                "requested_by": requested_by,
                "resolution": resolution,
                "routed_to": routed_to,
                "path": f"/alerts/{alert.id}",
            },
            "alert": {"id": alert.id, "title": alert.title, "severity": alert.severity},
            "case": case_summary(conn, case_id) if case_id is not None else None,
        },
    )


def allowlist_approval_requested(
    conn: Connection,
    entry: Any,
    version: int,
    requested_by: str,
    why: str,
    routed_to: str | None = None,
) -> bool:
    """An allowlist entry recorded (or re-opened by a list amendment) waits for approval."""
    return emit(
        conn,
        APPROVAL_REQUESTED,
        f"{APPROVAL_REQUESTED}:allowlist:{entry.id}:v{version}",
        {
            "approval": {
                "kind": "allowlist",
                "id": entry.id,
                "requested_by": requested_by,
                "why": why,
                "routed_to": routed_to,
                "list_reference": entry.list_reference,
                "party": entry.party_name,
                "path": f"/allowlist/{entry.id}",
            }
        },
    )

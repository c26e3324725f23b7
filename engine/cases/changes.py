"""Write a case's history row (``case_changes``) in the transaction of each change: its mutable
fields as they stand after it, and the alerts and case events that (re)joined it with it. The
audit journal hashes these rows; engine.cases.journal holds each case to its newest one."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select

from engine.cases.change_tables import CaseChangeRow
from engine.cases.tables import CaseRow

CHANGES = typing.cast(Table, CaseChangeRow.__table__)
CASES = typing.cast(Table, CaseRow.__table__)
# every column of a case that changes after it is opened
FIELDS = (
    "status",
    "severity",
    "title",
    "last_occurred_at",
    "closed_at",
    "closed_by",
    "resolution",
    "rationale",
    "duplicate_of",
    "merged_into",
    "split_from",
)


def _json(v: Any) -> Any:
    if isinstance(v, datetime):
        v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return v


def state_of(row: Any) -> dict[str, Any]:
    m = row._mapping if hasattr(row, "_mapping") else row
    return {f: _json(m[f]) for f in FIELDS}


def record(
    conn: Connection,
    changes: Sequence[tuple[int, str, str | None, Iterable[int], Iterable[tuple[int, str]]]],
) -> None:
    """One history row per ``(case_id, action, actor, alert ids joined, (case event id, role)
    joined)``, each with the case's fields as they are now in this transaction."""
    if not changes:
        return
    ids = sorted({c[0] for c in changes})
    now = {r.id: state_of(r) for r in conn.execute(select(CASES).where(CASES.c.id.in_(ids)))}
    at = datetime.now(UTC)
    rows = [
        {
            "case_id": case_id,
            "action": action,
            "actor": actor,
            "at": at,
            "state": now[case_id]
            | {"alerts": sorted(alerts), "events": sorted([i, r] for i, r in events)},
        }
        for case_id, action, actor, alerts, events in changes
    ]
    conn.execute(insert(CHANGES), rows)


def record_session(session: Any, case_id: int, action: str, actor: str | None,
                   alerts: Iterable[int] = (), events: Iterable[tuple[int, str]] = ()) -> None:  # fmt: skip
    """The same from an ORM session (flushed first, so the row is read as changed)."""
    session.flush()
    record(session.connection(), [(case_id, action, actor, list(alerts), list(events))])

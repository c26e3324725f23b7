"""The allowlist in the audit journal (engine.audit.records imports this module).

``allowlist_changes`` is append-only (record, approve, revoke, re-open: one row per change, with
the entry's state after it) and journaled whole; ``allowlist_entries`` is journaled by the
columns that never change; the entry's status, approver and note as they stand must be the state
of its newest journaled change (a state check). Expiry is a date the entry holds from the start,
so an expired entry needs no change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.allowlist.tables import AllowlistChangeRow, AllowlistEntryRow
from engine.audit.records import JournalSource, register
from engine.audit.states import StateCheck, StateProblems, differences, register_state_check

ENTRIES = AllowlistEntryRow.__table__
CHANGES = AllowlistChangeRow.__table__

register(
    JournalSource(
        "allowlist_changes",
        CHANGES,  # type: ignore[arg-type]
        "version",
        tuple(c.name for c in CHANGES.columns),
    )
)
register(
    JournalSource(
        "allowlist_entries",
        ENTRIES,  # type: ignore[arg-type]
        "id",
        (
            "id",
            "list_reference",
            "party_name",
            "name_norm",
            "country",
            "identifiers",
            "scope_counterparty",
            "scope_source",
            "reason",
            "expires_on",
            "created_by",
            "created_at",
        ),
    )
)


def _entries(conn: Connection) -> StateProblems:
    from engine.allowlist.store import Entry

    newest = (
        select(CHANGES.c.entry_id, func.max(CHANGES.c.version).label("v"))
        .group_by(CHANGES.c.entry_id)
        .subquery()
    )
    states: dict[int, dict[str, Any]] = {
        int(e): s
        for e, s in conn.execute(
            select(CHANGES.c.entry_id, CHANGES.c.state).join(
                newest,
                (newest.c.entry_id == CHANGES.c.entry_id) & (newest.c.v == CHANGES.c.version),
            )
        )
    }
    for row in conn.execute(select(ENTRIES).order_by(ENTRIES.c.id)):
        journaled = states.get(int(row.id))
        if journaled is None:
            continue  # no history (recorded before the allowlist was journaled)
        diff = differences(Entry.of(row).to_json(), journaled)  # type: ignore[arg-type]
        if diff:
            yield str(row.id), "allowlist entry changed outside the application: " + "; ".join(diff)


register_state_check(StateCheck("allowlist_entries", _entries))

"""Checks of mutable state against its journaled history.

The journal hashes only what never changes after insert. Rows that do change (an account's role
and active flag, an allowlist entry's status, a case's status and its alerts) are proven by an
append-only history the application writes in the same transaction as each change (review
actions in ``audit_log``, ``allowlist_changes``, ``case_changes``), and that history is
journaled. A state check compares each such row as it stands now with the state its journaled
history ends in: a row edited directly in the database (not through the application, so with no
history row) no longer matches and is named by ``sanctions audit verify``.

Another area adds a check with ``register_state_check(StateCheck(kind, check))`` from the module
that registers its journal sources (see engine.audit.records and docs/AUDIT.md): ``check(conn)``
yields ``(key, message)`` for each row whose state its history does not explain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

StateProblems = Iterator[tuple[str, str]]


@dataclass(frozen=True)
class StateCheck:
    kind: str  # the journal kind whose rows it checks (named in the report)
    check: Callable[[Connection], StateProblems]


_CHECKS: list[StateCheck] = []


def register_state_check(check: StateCheck) -> None:
    if all(c.kind != check.kind for c in _CHECKS):
        _CHECKS.append(check)


def state_checks() -> list[StateCheck]:
    from engine.audit.records import sources

    sources()  # imports the areas' journal modules, which register their checks
    return [StateCheck("accounts", _accounts), *_CHECKS]


def differences(now: dict[str, Any], journaled: dict[str, Any]) -> list[str]:
    """``field is X, journaled Y`` for each field of ``journaled`` that ``now`` differs in."""
    return [
        f"{k} is {now.get(k)!r}, journaled {v!r}"
        for k, v in sorted(journaled.items())
        if now.get(k) != v
    ]


def _accounts(conn: Connection) -> StateProblems:
    """An account's role and active flag are those its journaled review actions (user.create,
    user.role, user.disable ...: ``after``) leave it in."""
    from engine.storage.desk_tables import AuditRow, UserRow

    users = UserRow.__table__
    log = AuditRow.__table__
    state: dict[str, dict[str, Any]] = {}
    for target, after in conn.execute(
        select(log.c.target_id, log.c.after)
        .where(log.c.target_type == "user", log.c.action.like("user.%"))
        .order_by(log.c.id)
    ):
        if isinstance(after, dict):
            got = state.setdefault(target, {})
            got.update({k: after[k] for k in ("role", "active") if k in after})
    for uid, username, role, active in conn.execute(
        select(users.c.id, users.c.username, users.c.role, users.c.active).order_by(users.c.id)
    ):
        journaled = state.get(username)
        if journaled is None:
            continue  # no history written for it (seeded directly): nothing to hold it to
        diff = differences({"role": role, "active": bool(active)}, journaled)
        if diff:
            yield str(uid), "account changed outside the application: " + "; ".join(diff)

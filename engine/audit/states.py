"""Checks of mutable state against its journaled history.

The journal hashes only what never changes after insert. Rows that do change (an account's role
and active flag, an API key's revocation, an alert's desk state, an allowlist entry's status, a
case's status and its alerts) are proven by an append-only history the application writes in the
same transaction as each change (review actions in ``audit_log``, ``allowlist_changes``,
``case_changes``), and that history is journaled. A state check compares each such row as it stands now with the state its journaled
history ends in: a row edited directly in the database (not through the application, so with no
history row) no longer matches and is named by ``sanctions audit verify``.

Another area adds a check with ``register_state_check(StateCheck(kind, check))`` from the module
that registers its journal sources (see engine.audit.records and docs/AUDIT.md): ``check(conn)``
yields ``(key, message)`` for each row whose state its history does not explain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
    return [
        StateCheck("accounts", _accounts),
        StateCheck("api_keys", _api_keys),
        StateCheck("alerts", _alerts),
        *_CHECKS,
    ]


def differences(now: dict[str, Any], journaled: dict[str, Any]) -> list[str]:
    """``field is X, journaled Y`` for each field of ``journaled`` that ``now`` differs in."""
    return [
        f"{k} is {now.get(k)!r}, journaled {v!r}"
        for k, v in sorted(journaled.items())
        if now.get(k) != v
    ]


def instant(value: Any) -> str | None:
    """A time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC), from a stored datetime (SQLite's are naive
    UTC) or the ISO text a review action wrote it as; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return str(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def _api_keys(conn: Connection) -> StateProblems:
    """A key's revocation is what its journaled review actions leave it in: ``api_key.create``
    (not revoked), then each ``after`` with ``revoked`` (and, since they are written, who revoked
    it and when; an older revocation without them holds only ``revoked``)."""
    from engine.storage.desk_tables import ApiKeyRow, AuditRow

    keys = ApiKeyRow.__table__
    log = AuditRow.__table__
    state: dict[str, dict[str, Any]] = {}
    for target, action, after in conn.execute(
        select(log.c.target_id, log.c.action, log.c.after)
        .where(log.c.target_type == "api_key", log.c.action.like("api_key.%"))
        .order_by(log.c.id)
    ):
        if action == "api_key.create":
            state[target] = {"revoked": False, "revoked_by": None, "revoked_at": None}
        if isinstance(after, dict) and "revoked" in after:
            got = state.setdefault(target, {})
            got["revoked"] = bool(after["revoked"])
            for k in ("revoked_by", "revoked_at"):
                if k in after:
                    got[k] = instant(after[k]) if k == "revoked_at" else after[k]
                else:
                    got.pop(k, None)
    for kid, revoked_at, revoked_by in conn.execute(
        select(keys.c.id, keys.c.revoked_at, keys.c.revoked_by).order_by(keys.c.id)
    ):
        journaled = state.get(str(kid))
        if journaled is None:
            continue  # no history written for it (inserted directly): nothing to hold it to
        now = {
            "revoked": revoked_at is not None,
            "revoked_by": revoked_by,
            "revoked_at": instant(revoked_at),
        }
        diff = differences(now, journaled)
        if diff:
            yield str(kid), "API key changed outside the application: " + "; ".join(diff)


# What engine.alerts.alert_rows opens every alert in (live and retro-screening alike), the state
# the alert's own journal entry stands for; each desk action's ``after`` moves it on.
OPENED: dict[str, Any] = {"status": "open", "resolution": None, "assignee": None, "closed_at": None}


def _alerts(conn: Connection) -> StateProblems:
    """An alert's status, resolution, assignee and closure time are those its opening and its
    journaled review actions (target ``alert``: each ``after``) leave it in. Every alert is held,
    from its opening; an action written before ``after`` carried ``closed_at`` leaves the closure
    time unheld until the alert's next action."""
    from engine.storage.desk_tables import AuditRow
    from engine.storage.tables import AlertRow

    alerts = AlertRow.__table__
    log = AuditRow.__table__
    state: dict[int, dict[str, Any]] = {}
    for alert_id, after in conn.execute(
        select(log.c.alert_id, log.c.after)
        .where(log.c.target_type == "alert", log.c.alert_id.is_not(None))
        .order_by(log.c.id)
    ):
        if not isinstance(after, dict) or not after.keys() & OPENED.keys():
            continue  # a note, a routing step...: no desk state
        got = state.setdefault(int(alert_id), dict(OPENED))
        got.update({k: after[k] for k in OPENED if k in after})
        if "closed_at" in after:
            got["closed_at"] = instant(after["closed_at"])
        elif "status" in after:
            got.pop("closed_at", None)
    c = alerts.c
    for aid, status, resolution, assignee, closed_at in conn.execute(
        select(c.id, c.status, c.resolution, c.assignee, c.closed_at).order_by(c.id)
    ):
        journaled = state.get(int(aid), OPENED)
        now = {
            "status": status,
            "resolution": resolution,
            "assignee": assignee,
            "closed_at": instant(closed_at),
        }
        diff = differences(now, journaled)
        if diff:
            yield str(aid), "alert changed outside the application: " + "; ".join(diff)

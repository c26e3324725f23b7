"""Who is mailed for an event type: the admin's route (addresses and ``role:<role>`` items), or
by default the senior officers for approvals. A role expands to the active users of that role
with an address on record (notify_addresses); the officer who asked for an approval is not
mailed about it (they cannot approve it), and an approval routed to one senior officer mails
that senior only (engine.approvals: the pool when it falls back is told on the desk)."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from engine.notify.events import APPROVAL_REQUESTED, EVENT_TYPES
from engine.notify.tables import EmailRouteRow, NotifyAddressRow
from engine.storage.desk_tables import ROLES, UserRow

ROUTES = typing.cast(Table, EmailRouteRow.__table__)
ADDRESSES = typing.cast(Table, NotifyAddressRow.__table__)
USERS = typing.cast(Table, UserRow.__table__)
DEFAULT_ROUTES: dict[str, list[str]] = {APPROVAL_REQUESTED: ["role:senior_officer"]}
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class RoutingError(ValueError):
    """A recipient list or address that is not accepted (message is safe to show)."""


def parse_recipients(text: str) -> list[str]:
    items = [i.strip() for i in re.split(r"[,;\s]+", text or "") if i.strip()]
    for item in items:
        if item.startswith("role:"):
            if item[5:] not in ROLES:
                raise RoutingError(f"{item!r}: roles are {', '.join(ROLES)}")
        elif not _ADDRESS.match(item):
            raise RoutingError(f"{item!r} is not an e-mail address or role:<role>")
    return list(dict.fromkeys(items))


def routes(conn: Connection) -> dict[str, list[str]]:
    stored = {r.event_type: list(r.recipients) for r in conn.execute(select(ROUTES))}
    return {t: stored.get(t, DEFAULT_ROUTES.get(t, [])) for t in EVENT_TYPES}


def recipients_for(conn: Connection, event_type: str, data: dict[str, Any]) -> list[str]:
    items = routes(conn).get(event_type, [])
    out: list[str] = []
    roles = [i[5:] for i in items if i.startswith("role:")]
    if roles:
        approval = data.get("approval") or {}
        skip = approval.get("requested_by")
        only = approval.get("routed_to")  # routed to one senior: the role means that senior
        rows = conn.execute(
            select(USERS.c.username, ADDRESSES.c.email)
            .join(ADDRESSES, ADDRESSES.c.username == USERS.c.username)
            .where(USERS.c.role.in_(roles), USERS.c.active.is_(True))
            .order_by(USERS.c.username)
        )
        out += [e for u, e in rows if u != skip and (only is None or u == only)]
    out += [i for i in items if not i.startswith("role:")]
    return list(dict.fromkeys(out))


def set_route(conn: Connection, event_type: str, recipients: list[str], actor: str) -> None:
    if event_type not in EVENT_TYPES:
        raise RoutingError(f"unknown event type {event_type!r}")
    now = datetime.now(UTC)
    if conn.execute(select(ROUTES.c.event_type).where(ROUTES.c.event_type == event_type)).first():
        conn.execute(
            ROUTES.update()
            .where(ROUTES.c.event_type == event_type)
            .values(recipients=recipients, updated_by=actor, updated_at=now)
        )
    else:
        conn.execute(
            ROUTES.insert().values(
                event_type=event_type, recipients=recipients, updated_by=actor, updated_at=now
            )
        )


def set_address(conn: Connection, username: str, email: str, actor: str) -> None:
    """Record (or with an empty address, remove) a desk user's e-mail address."""
    email = (email or "").strip()
    if conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first() is None:
        raise RoutingError(f"no user {username!r}")
    conn.execute(ADDRESSES.delete().where(ADDRESSES.c.username == username))
    if not email:
        return
    if not _ADDRESS.match(email):
        raise RoutingError(f"{email!r} is not an e-mail address")
    conn.execute(
        ADDRESSES.insert().values(
            username=username, email=email, updated_by=actor, updated_at=datetime.now(UTC)
        )
    )


def addresses(conn: Connection) -> dict[str, str]:
    return {u: e for u, e in conn.execute(select(ADDRESSES.c.username, ADDRESSES.c.email))}

"""Who may change the registers: makers are officers, checkers senior officers (desk accounts).

The CLI acts for a named account; the web app for the logged-in user; the API for its key
(``apikey:<name>#<id>``), whose scope the API checks (registers:write, registers:approve).
"""

from __future__ import annotations

from sqlalchemy import select

from engine.registers.store import RegisterError
from engine.storage.db import session_scope
from engine.storage.desk_tables import UserRow

MAKERS = frozenset({"officer", "senior_officer"})
CHECKERS = frozenset({"senior_officer"})


def require_user(username: str, roles: frozenset[str], doing: str) -> str:
    """The username, if it is an active account of one of ``roles``; else RegisterError 403."""
    with session_scope() as s:
        user = s.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or not user.active:
        raise RegisterError(f"no active account {username!r}", 403)
    if user.role not in roles:
        raise RegisterError(
            f"{username} is a {user.role}; only {' or '.join(sorted(roles))} may {doing}", 403
        )
    return user.username


def api_actor(key_name: str, key_id: int) -> str:
    return f"apikey:{key_name}#{key_id}"[:100]

"""Server-side login sessions (table ``login_sessions``).

The signed Flask cookie holds only ``sid``, a random token; its sha256 names a row that must be
unended, unexpired, of an active user whose role is still the role at login. Ending the row ends
the session everywhere, whatever copies of the cookie exist: logout ends one, and disabling a user
or changing their role or password ends all of theirs (``end_all_for_user``, called in the same
transaction as the change).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.storage.db import session_scope
from engine.storage.desk_tables import UserRow
from engine.storage.session_tables import LoginSessionRow

LIFETIME = timedelta(hours=8)  # as the cookie's PERMANENT_SESSION_LIFETIME


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(user_id: int, role: str, lifetime: timedelta = LIFETIME) -> str:
    """A new session for this user; returns the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with session_scope() as s:
        s.add(
            LoginSessionRow(
                token_hash=_hash(token),
                user_id=user_id,
                role=role,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return token


def resolve(token: str) -> UserRow | None:
    """The user of a live session, or None (ended, expired, user disabled or role changed)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = datetime.now(UTC)
    with session_scope() as s:
        row = s.execute(
            select(UserRow, LoginSessionRow.role, LoginSessionRow.expires_at)
            .join(LoginSessionRow, LoginSessionRow.user_id == UserRow.id)
            .where(LoginSessionRow.token_hash == _hash(token), LoginSessionRow.ended_at.is_(None))
        ).first()
        if row is None:
            return None
        user, role, expires_at = row
        if expires_at.tzinfo is None:  # SQLite hands back naive UTC
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now or not user.active or user.role != role:
            return None
        return user


def end(token: str | None, reason: str = "logout") -> None:
    if not token:
        return
    with session_scope() as s:
        s.execute(
            update(LoginSessionRow)
            .where(LoginSessionRow.token_hash == _hash(token), LoginSessionRow.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC), ended_reason=reason)
        )


def end_all_for_user(s: Session, user_id: int, reason: str) -> None:
    """End every live session of a user, inside the caller's transaction."""
    s.execute(
        update(LoginSessionRow)
        .where(LoginSessionRow.user_id == user_id, LoginSessionRow.ended_at.is_(None))
        .values(ended_at=datetime.now(UTC), ended_reason=reason[:40])
    )

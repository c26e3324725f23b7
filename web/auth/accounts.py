"""User accounts: hashed passwords (werkzeug scrypt), roles, disabling, login rate limiting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from engine.storage.db import session_scope
from engine.storage.desk_tables import ROLES, LoginAttemptRow, UserRow
from web.auth.sessions import end_all_for_user
from web.desk.audit import record

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
# Verified against when the username is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (message is safe to show)."""


@dataclass(frozen=True)
class LoginResult:
    user: UserRow | None
    blocked: bool = False


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    username: str, password: str, role: str, actor: str = "system", display_name: str | None = None
) -> UserRow:
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise AccountError("username must be 1 to 100 characters without spaces")
    _check_role(role)
    _check_password(password)
    with session_scope() as s:
        if s.scalar(select(UserRow).where(UserRow.username == username)) is not None:
            raise AccountError(f"user {username!r} already exists")
        user = UserRow(
            username=username,
            display_name=display_name,
            password_hash=generate_password_hash(password),
            role=role,
            active=True,
        )
        s.add(user)
        s.flush()
        record(s, actor, "user.create", "user", username, after={"role": role, "active": True})
    return user


def get_user(username: str) -> UserRow | None:
    with session_scope() as s:
        return s.scalar(select(UserRow).where(UserRow.username == username))


def list_users() -> list[UserRow]:
    with session_scope() as s:
        return list(s.scalars(select(UserRow).order_by(UserRow.username)))


def _update_user(username: str, actor: str, action: str, **changes: object) -> UserRow:
    with session_scope() as s:
        user = s.scalar(select(UserRow).where(UserRow.username == username).with_for_update())
        if user is None:
            raise AccountError(f"no user {username!r}")
        before = {k: getattr(user, k) for k in changes if k != "password_hash"}
        for key, value in changes.items():
            setattr(user, key, value)
        after = {k: getattr(user, k) for k in changes if k != "password_hash"}
        if action != "user.enable":
            # Disabled, role or password changed: every session of the user ends now.
            end_all_for_user(s, user.id, action)
        record(s, actor, action, "user", username, before=before or None, after=after or None)
        return user


def set_active(username: str, active: bool, actor: str = "system") -> UserRow:
    if not active and username == actor:
        raise AccountError("you cannot disable your own account")
    return _update_user(username, actor, "user.enable" if active else "user.disable", active=active)


def set_role(username: str, role: str, actor: str = "system") -> UserRow:
    _check_role(role)
    if username == actor:
        raise AccountError("you cannot change your own role")
    return _update_user(username, actor, "user.role", role=role)


def set_password(username: str, password: str, actor: str = "system") -> UserRow:
    _check_password(password)
    return _update_user(
        username, actor, "user.password", password_hash=generate_password_hash(password)
    )


def failures_in_window(username: str, ip: str, now: datetime | None = None) -> int:
    """Failed logins for this user from this address in the window, since the last success."""
    now = now or datetime.now(UTC)
    since = now - FAILURE_WINDOW
    with session_scope() as s:
        last_ok = s.scalar(
            select(func.max(LoginAttemptRow.at)).where(
                LoginAttemptRow.username == username,
                LoginAttemptRow.ip == ip,
                LoginAttemptRow.success.is_(True),
                LoginAttemptRow.at >= since,
            )
        )
        if last_ok is not None:
            since = last_ok
        return (
            s.scalar(
                select(func.count()).where(
                    LoginAttemptRow.username == username,
                    LoginAttemptRow.ip == ip,
                    LoginAttemptRow.success.is_(False),
                    LoginAttemptRow.at >= since,
                )
            )
            or 0
        )


def authenticate(username: str, password: str, ip: str) -> LoginResult:
    """Check a login; refuse without checking once MAX_FAILURES failures are in the window.

    Atomic under concurrency: the attempt is first committed as a failure, then the failures in
    the window are counted, this one included. Every attempt counts all attempts committed before
    it, so of N concurrent attempts at most MAX_FAILURES see a count within the limit and get a
    password check (a check-then-insert let 50 concurrent attempts through 6 checks). A refused
    attempt's row is removed again, so the block lasts 15 minutes from the last real failure.
    """
    username = username.strip()[:100]
    ip = (ip or "unknown")[:64]
    with session_scope() as s:
        attempt = LoginAttemptRow(username=username, ip=ip, success=False, at=datetime.now(UTC))
        s.add(attempt)
        s.flush()
        attempt_id = attempt.id
    if failures_in_window(username, ip) > MAX_FAILURES:
        with session_scope() as s:
            s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.id == attempt_id))
        return LoginResult(user=None, blocked=True)
    with session_scope() as s:
        user = s.scalar(select(UserRow).where(UserRow.username == username))
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        if ok and user is not None and user.active:
            s.execute(
                update(LoginAttemptRow)
                .where(LoginAttemptRow.id == attempt_id)
                .values(success=True, at=datetime.now(UTC))
            )
            user.last_login_at = datetime.now(UTC)
            return LoginResult(user=user)
    return LoginResult(user=None)


DEMO_ACCOUNTS = (
    ("officer", "officer"),
    ("senior", "senior_officer"),
    ("auditor", "auditor"),
    ("admin", "admin"),
)


def create_demo_accounts() -> list[tuple[str, str, str]]:
    """One demo account per role with a fresh random password: [(username, password, role)].

    Existing demo users get a new password (and are re-enabled), so the printed credentials
    always work. Called by `make run`; never use these accounts in production.
    """
    created = []
    for username, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        if get_user(username) is None:
            create_user(username, password, role, actor="demo", display_name=f"Demo {role}")
        else:
            set_password(username, password, actor="demo")
            _update_user(username, "demo", "user.demo_reset", role=role, active=True)
        created.append((username, password, role))
    return created

"""Who may call what: the current user (from the session) and the role check on every view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from engine.storage.desk_tables import ROLES, UserRow

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = frozenset(ROLES)
REVIEWERS = frozenset({"officer", "senior_officer"})
READERS = frozenset({"officer", "senior_officer", "auditor", "admin"})

# Endpoints anyone may reach without logging in. Everything else needs a session (or, under
# /api/, an API key): a blueprint that forgets its role check is still closed to anonymous users.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "healthz",
        "auth.login",
        "health.readyz",
        "health.metrics",
        "audit.public_key",
    }  # probes: web.health
)


def current_user() -> UserRow | None:
    return g.get("user")


def load_user() -> None:
    """before_request: the user of a live server-side session, or None (web.auth.sessions).

    A session ended by logout, disabling, a role or password change is refused here at once,
    whatever copy of the cookie presents it."""
    g.user = None
    sid = session.get("sid")
    if sid is None:
        return  # anonymous (a cookie from before server-side sessions counts as none)
    from web.auth.sessions import resolve

    user = resolve(sid)
    if user is None:
        session.clear()
        return
    g.user = user


def login_required_by_default() -> Any:
    """before_request: anonymous users get the login page for every non-public endpoint."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.path.startswith("/api/"):
        return None  # API keys, see web.auth.apikeys
    if g.get("user") is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def roles_required(*roles: str) -> Callable[[F], F]:
    """Allow the view to users of these roles only (403 for others, login for anonymous)."""
    allowed = frozenset(roles)
    unknown = allowed - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def has_role(*roles: str) -> bool:
    user = g.get("user")
    return user is not None and user.role in roles

"""Login and logout."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from web.auth import sessions
from web.auth.access import READERS, roles_required
from web.auth.accounts import MAX_FAILURES, authenticate

auth_bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """A same-origin path to go to after login, else the alert queue.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
    ``/<TAB>/evil.example`` or ``/\\evil.example`` would leave the site: any control character,
    whitespace or backslash refuses the target, as does anything that parses with a scheme or a
    host, or whose path starts with two slashes. Non-ASCII text is percent-encoded.
    """
    if not target or not target.startswith("/") or len(target) > 2000:
        return url_for("alerts.queue")
    if any(c.isspace() or c == "\\" or unicodedata.category(c)[0] == "C" for c in target):
        return url_for("alerts.queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return url_for("alerts.queue")
    return quote(target, safe="/?&=%#:@!$'()*+,;~-._[]")


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = request.values.get("next")
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        result = authenticate(username, password, request.remote_addr or "unknown")
        if result.blocked:
            return (
                render_template(
                    "auth/login.html",
                    error=f"Too many failed attempts ({MAX_FAILURES}). Try again in 15 minutes.",
                    username=username,
                    next_url=next_url,
                ),
                429,
            )
        if result.user is None:
            return (
                render_template(
                    "auth/login.html",
                    error="Unknown user or wrong password.",
                    username=username,
                    next_url=next_url,
                ),
                200,
            )
        session.clear()  # a fresh session: no fixation across the login boundary
        session.permanent = True
        session["sid"] = sessions.start(result.user.id, result.user.role)
        return redirect(safe_next(next_url))
    return render_template("auth/login.html", error=None, username="", next_url=next_url)


@auth_bp.post("/logout")
@roles_required(*READERS)
def logout() -> Any:
    sessions.end(session.get("sid"), "logout")  # every copy of the cookie stops working
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))


@auth_bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*READERS)
def change_password() -> Any:
    """A user changes their own password (the current one first). Every other session of the
    user ends; this browser gets a fresh session."""
    from flask import g
    from werkzeug.security import check_password_hash

    from web.auth.accounts import AccountError, set_password

    error = None
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        if not check_password_hash(g.user.password_hash, current):
            error = "The current password is wrong."
        elif new != request.form.get("repeat", ""):
            error = "The new passwords differ."
        else:
            try:
                user = set_password(g.user.username, new, actor=g.user.username)
            except AccountError as exc:
                error = str(exc)
            else:
                session.clear()
                session.permanent = True
                session["sid"] = sessions.start(user.id, user.role)
                flash("Password changed; your other sessions have ended.")
                return redirect(url_for("alerts.queue"), code=303)
    return render_template("auth/password.html", error=error), (200 if error is None else 400)

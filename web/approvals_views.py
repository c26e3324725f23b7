"""Approvals inboxes (issue 14): what waits on each senior officer by name, the pool any senior
may take, and who is away. Reading a page first moves overdue or away-held requests to the pool
(engine.approvals.routing.fall_back, audited), so nothing stays stuck on one absent senior.
Deciding happens on the alert or allowlist entry page, which enforce the same rules.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from engine.approvals import routing
from engine.approvals.tables import ApprovalRouteRow
from engine.storage.db import session_scope
from web.auth.access import READERS, roles_required

approvals_bp = Blueprint("approvals", __name__, url_prefix="/approvals")


def link(row: ApprovalRouteRow) -> str:
    if row.kind == "closure" and row.alert_id is not None:
        return url_for("alerts.detail", alert_id=row.alert_id)
    return url_for("allowlist.detail", entry_id=row.ref_id)


def _seniors(s: Any) -> list[dict[str, Any]]:
    gone = routing.away(s)
    return [
        {
            "username": u,
            "away": gone.get(u),
            "waiting": len(routing.inbox(s, u)),
        }
        for u in routing.seniors(s)
    ]


@approvals_bp.get("")
@roles_required(*READERS)
def index() -> Any:
    """The signed-in senior's inbox, the pool, the user's own requests, the seniors."""
    me = g.user.username
    with session_scope() as s:
        moved = routing.fall_back(s)
        mine = routing.inbox(s, me) if g.user.role == "senior_officer" else []
        pool = routing.pool(s)
        asked = routing.requested(s, me)
        seniors = _seniors(s)
    return render_template(
        "approvals/index.html",
        mine=mine,
        pool=pool,
        asked=asked,
        seniors=seniors,
        moved=moved,
        link=link,
        hours=routing.fallback_hours(),
        me=me,
        is_senior=g.user.role == "senior_officer",
        is_admin=g.user.role == "admin",
    )


@approvals_bp.get("/seniors/<username>")
@roles_required(*READERS)
def inbox(username: str) -> Any:
    """One senior's inbox (what is routed to them by name), for colleagues and admins to see."""
    with session_scope() as s:
        routing.fall_back(s)
        if username not in routing.seniors(s):
            abort(404)
        rows = routing.inbox(s, username)
        gone = routing.away(s).get(username)
    return render_template(
        "approvals/inbox.html",
        username=username,
        rows=rows,
        away=gone,
        link=link,
        hours=routing.fallback_hours(),
        can_toggle=g.user.role == "admin" or g.user.username == username,
    )


@approvals_bp.post("/away")
@roles_required("senior_officer", "admin")
def set_away() -> Any:
    """A senior marks themselves away or back; an admin may do so for any senior."""
    username = (request.form.get("username") or g.user.username).strip()
    if username != g.user.username and g.user.role != "admin":
        abort(403)
    is_away = request.form.get("away") == "1"
    try:
        with session_scope() as s:
            routing.set_away(s, username, is_away, g.user.username, request.form.get("note"))
            moved = len(routing.pool(s))
    except routing.RoutingError as exc:
        flash(str(exc), "error")
    else:
        if is_away:
            flash(f"{username} is away: requests routed to them are in the pool ({moved} there).")
        else:
            flash(f"{username} is back: new requests can be routed to them again.")
    back = request.form.get("back") or ""
    if back.startswith("/approvals"):
        return redirect(back, code=303)
    return redirect(url_for("approvals.index"), code=303)

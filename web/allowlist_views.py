"""Known false positives (engine.allowlist): every role reads; a senior officer records an entry
(pending), a different senior officer approves it (four eyes); seniors revoke. The page writes
the allowlist only: the worker applies it to screening hits, one version per batch.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import String, cast, select

from engine.allowlist import store
from engine.approvals import routing
from engine.storage.db import session_scope
from engine.storage.tables import DecisionRow
from web.alerts import _like_escape
from web.auth.access import READERS, roles_required

allowlist_bp = Blueprint("allowlist", __name__, url_prefix="/allowlist")


@allowlist_bp.get("")
@roles_required(*READERS)
def index() -> Any:
    status = request.args.get("status") or None
    with session_scope() as s:
        approvers = [u for u in routing.seniors(s) if u != g.user.username]
        gone = set(routing.away(s))
    return render_template(
        "allowlist/index.html",
        entries=store.entries(status),
        status=status,
        version=store.current_version(),
        kinds=store.IDENTIFIER_KINDS,
        can_record=g.user.role == "senior_officer",
        approvers=approvers,
        away=gone,
    )


@allowlist_bp.post("")
@roles_required("senior_officer")
def create() -> Any:
    f = request.form
    try:
        expires = date.fromisoformat(f.get("expires_on", ""))
    except ValueError:
        flash("the expiry is a date (YYYY-MM-DD)", "error")
        return redirect(url_for("allowlist.index"), code=303)
    try:
        entry = store.add(
            list_reference=f.get("list_reference", ""),
            party_name=f.get("party_name"),
            country=f.get("country"),
            identifiers={k: f.get(f"id_{k}", "") for k in store.IDENTIFIER_KINDS},
            scope_counterparty=f.get("scope_counterparty") or None,
            scope_source=f.get("scope_source") or None,
            reason=f.get("reason", ""),
            expires_on=expires,
            actor=g.user.username,
            approver=f.get("approver") or None,
        )
    except store.AllowlistError as exc:
        flash(str(exc), "error")
        return redirect(url_for("allowlist.index"), code=303)
    who = f.get("approver") or routing.POOL
    who = "another senior officer" if who == routing.POOL else who
    flash(f"Allowlist entry {entry.id} recorded: {who} must approve it.")
    return redirect(url_for("allowlist.detail", entry_id=entry.id), code=303)


def cleared_by(entry_id: int, limit: int = 100) -> list[DecisionRow]:
    """Decisions in which this entry set a screening hit aside (their notes name it)."""
    needle = f"%allowlist entry #{_like_escape(str(entry_id))} (%"
    with session_scope() as s:
        rows = list(
            s.scalars(
                select(DecisionRow)
                .where(cast(DecisionRow.allowlist_notes, String).like(needle, escape="\\"))
                .order_by(DecisionRow.id.desc())
                .limit(limit)
            )
        )
        s.expunge_all()
    return rows


@allowlist_bp.get("/<int:entry_id>")
@roles_required(*READERS)
def detail(entry_id: int) -> Any:
    entry = store.get(entry_id)
    if entry is None:
        abort(404)
    with session_scope() as s:
        routing.fall_back(s)
        route = routing.current(s, "allowlist", entry_id)
    return render_template(
        "allowlist/detail.html",
        entry=entry,
        history=store.history(entry_id),
        decisions=cleared_by(entry_id),
        route=route,
        can_approve=g.user.role == "senior_officer"
        and entry.status in ("pending", "reopened")
        and routing.may_decide(route, entry.created_by, g.user.username),
        can_revoke=g.user.role == "senior_officer" and entry.status != "revoked",
    )


@allowlist_bp.post("/<int:entry_id>/approve")
@roles_required("senior_officer")
def approve(entry_id: int) -> Any:
    try:
        store.approve(entry_id, g.user.username, request.form.get("note") or None)
    except store.AllowlistError as exc:
        flash(str(exc), "error")
    else:
        flash("Allowlist entry approved: later hits of this party on this entry are cleared.")
    return redirect(url_for("allowlist.detail", entry_id=entry_id), code=303)


@allowlist_bp.post("/<int:entry_id>/revoke")
@roles_required("senior_officer")
def revoke(entry_id: int) -> Any:
    try:
        store.revoke(entry_id, g.user.username, request.form.get("reason", ""))
    except store.AllowlistError as exc:
        flash(str(exc), "error")
    else:
        flash("Allowlist entry revoked.")
    return redirect(url_for("allowlist.detail", entry_id=entry_id), code=303)

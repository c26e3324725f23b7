"""Replays from the web app: auditors (and senior officers, admins) ask for a stored decision to be
re-run against its exact rule pack version, and read the outcomes.

The web app never evaluates rules: a request writes a ``replays`` row and puts its id on the task
queue (engine.pipeline.replay_tasks); a worker runs the replay and fills the row in. Nothing else changes:
no decision, no alert, no audit-trail entry of an alert.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.storage.db import session_scope
from engine.storage.replay_tables import ReplayRow
from engine.storage.tables import AlertRow
from web.auth.access import roles_required

replays_bp = Blueprint("replays", __name__)

REPLAYERS = ("auditor", "senior_officer", "admin")
PAGE = 50


def replays_of(session: Session, event_id: str, limit: int = 10) -> list[ReplayRow]:
    """The newest replays of one event (the alert page lists them)."""
    stmt = (
        select(ReplayRow)
        .where(ReplayRow.event_id == event_id)
        .order_by(ReplayRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) if value is not None else ""


@replays_bp.get("/replays")
@roles_required(*REPLAYERS)
def index() -> Any:
    event_id = request.args.get("event_id", "").strip()[:200]
    try:
        page = max(1, min(int(request.args.get("page", 1)), 1_000_000))
    except ValueError:
        page = 1
    cond = [ReplayRow.event_id == event_id] if event_id else []
    with session_scope() as s:
        total = s.scalar(select(func.count()).select_from(ReplayRow).where(*cond)) or 0
        pages = max(1, -(-total // PAGE))
        page = min(page, pages)
        rows = list(
            s.scalars(
                select(ReplayRow)
                .where(*cond)
                .order_by(ReplayRow.id.desc())
                .limit(PAGE)
                .offset((page - 1) * PAGE)
            )
        )
    return render_template(
        "replays/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        event_id=event_id,
        pretty_json=_pretty,
    )


@replays_bp.post("/replays")
@roles_required(*REPLAYERS)
def request_replay() -> Any:
    from engine.pipeline.replay_tasks import ReplayRequestError
    from engine.pipeline.replay_tasks import request_replay as record_and_enqueue

    event_id = request.form.get("event_id", "").strip()[:200]
    alert_id: int | None = None
    if request.form.get("alert_id"):
        try:
            alert_id = int(request.form["alert_id"])
        except ValueError:
            abort(400)
    if not event_id:
        flash("Name the event to replay.", "error")
        return redirect(url_for("replays.index"), code=303)
    if alert_id is not None:
        with session_scope() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None or alert.event_id != event_id:
                abort(400)
    back = url_for("alerts.detail", alert_id=alert_id) if alert_id else url_for("replays.index")
    try:
        row = record_and_enqueue(event_id, g.user.username, alert_id=alert_id)
    except ReplayRequestError as exc:
        flash(f"Not replayed: {exc}.", "error")
        return redirect(back, code=303)
    if row.status == "failed":
        flash(f"Replay #{row.id} recorded but not queued: {row.error}", "error")
    else:
        flash(
            f"Replay #{row.id} of {event_id} queued; a worker runs it and the result appears here."
        )
    return redirect(back, code=303)

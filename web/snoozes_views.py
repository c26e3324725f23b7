"""Snoozes (engine.snoozes): every role reads the list; a senior officer snoozes the repeats of
an alert (same party or vessel key, rule and material facts) for up to 30 days with a reason;
officers and senior officers lift a snooze. The page writes snoozes only: alerts are withheld
where they are opened (engine.storage.repository, engine.screening.retro).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from engine.snoozes import store
from engine.snoozes.facts import material_facts, subject_keys
from engine.snoozes.tables import SnoozeOccurrenceRow
from engine.storage.db import session_scope
from engine.storage.tables import AlertRow, EventRow
from web.auth.access import READERS, REVIEWERS, roles_required

snoozes_bp = Blueprint("snoozes", __name__, url_prefix="/snoozes")


@snoozes_bp.get("")
@roles_required(*READERS)
def index() -> Any:
    status = request.args.get("status") or "active"
    with session_scope() as s:
        counts = dict(
            s.execute(
                select(SnoozeOccurrenceRow.snooze_id, func.count()).group_by(
                    SnoozeOccurrenceRow.snooze_id
                )
            ).all()
        )
    return render_template(
        "snoozes/index.html",
        snoozes=store.rows(None if status == "all" else status),
        status=status,
        counts=counts,
        version=store.current_version(),
        can_lift=g.user.role in REVIEWERS,
    )


@snoozes_bp.get("/new")
@roles_required("senior_officer")
def new() -> Any:
    try:
        alert_id = int(request.args.get("alert_id", ""))
    except ValueError:
        abort(404)
    with session_scope() as s:
        alert = s.get(AlertRow, alert_id)
        if alert is None:
            abort(404)
        raw = s.scalar(select(EventRow.raw).where(EventRow.event_id == alert.event_id)) or {}
        violation = alert.violation or {}
        rule_id, title = alert.rule_id, alert.title
    return render_template(
        "snoozes/new.html",
        alert_id=alert_id,
        rule_id=rule_id,
        title=title,
        keys=subject_keys(raw, violation),
        facts=material_facts(raw, violation),
        max_days=store.MAX_DAYS,
    )


@snoozes_bp.post("")
@roles_required("senior_officer")
def create() -> Any:
    f = request.form
    try:
        alert_id, days = int(f.get("alert_id", "")), int(f.get("days", ""))
    except ValueError:
        flash("choose the alert and a number of days", "error")
        return redirect(url_for("snoozes.index"), code=303)
    try:
        snooze = store.create(
            alert_id=alert_id,
            key=f.get("key", ""),
            days=days,
            reason=f.get("reason", ""),
            actor=g.user.username,
        )
    except store.SnoozeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("snoozes.new", alert_id=alert_id), code=303)
    flash(
        f"Snooze {snooze.id} set until {snooze.expires_at:%Y-%m-%d %H:%M} UTC: repeats with the "
        "same facts open no alert and join the case as snoozed occurrences."
    )
    return redirect(url_for("snoozes.index"), code=303)


@snoozes_bp.post("/<int:snooze_id>/lift")
@roles_required(*REVIEWERS)
def lift(snooze_id: int) -> Any:
    try:
        store.lift(snooze_id, g.user.username, request.form.get("note", ""))
    except store.SnoozeError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Snooze {snooze_id} lifted: repeats alert again.")
    return redirect(url_for("snoozes.index"), code=303)

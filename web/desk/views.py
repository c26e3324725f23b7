"""Desk routes: actions on one alert, bulk actions with a confirmation step, the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.tables import AlertRow
from web.alerts import AlertFilter, matching_ids
from web.auth.access import roles_required
from web.desk.workflow import Actor, WorkflowError, run, run_bulk

desk_bp = Blueprint("desk", __name__)

BULK_LIMIT = 500
AUDIT_PAGE = 100
EXPORT_ROLES = ("auditor", "admin")


def _back(alert_id: int) -> Any:
    return redirect(url_for("alerts.detail", alert_id=alert_id), code=303)


def _act(alert_id: int, action: str, success: str, **kwargs: object) -> Any:
    try:
        done = run(alert_id, Actor.of(g.user), action, **kwargs)
    except WorkflowError as exc:
        flash(str(exc), "error")
    else:
        if getattr(done, "status", None) == "pending_approval" and action == "close":
            who = request.form.get("approver") or ""
            who = who if who and who != "pool" else "a second senior officer"
            success = f"Closure requested: {who} must approve it."
        flash(success)
    return _back(alert_id)


@desk_bp.post("/alerts/<int:alert_id>/assign")
@roles_required("officer", "senior_officer")
def assign(alert_id: int) -> Any:
    assignee = g.user.username if request.form.get("to") == "me" else request.form.get("assignee")
    return _act(alert_id, "assign", "Assignment saved.", assignee=assignee)


@desk_bp.post("/alerts/<int:alert_id>/review")
@roles_required("officer", "senior_officer")
def start_review(alert_id: int) -> Any:
    return _act(alert_id, "start_review", "Review started.")


@desk_bp.post("/alerts/<int:alert_id>/escalate")
@roles_required("officer", "senior_officer")
def escalate(alert_id: int) -> Any:
    return _act(alert_id, "escalate", "Alert escalated.", note=request.form.get("note"))


@desk_bp.post("/alerts/<int:alert_id>/close")
@roles_required("officer", "senior_officer")
def close(alert_id: int) -> Any:
    return _act(
        alert_id,
        "close",
        "Closure recorded.",
        resolution=request.form.get("resolution", ""),
        note=request.form.get("note"),
        approver=request.form.get("approver") or None,
    )


@desk_bp.post("/alerts/<int:alert_id>/approval")
@roles_required("senior_officer")
def decide(alert_id: int) -> Any:
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    return _act(
        alert_id,
        "decide_closure",
        "Closure approved." if decision == "approve" else "Closure rejected.",
        approve=decision == "approve",
        note=request.form.get("note"),
    )


@desk_bp.post("/alerts/<int:alert_id>/reopen")
@roles_required("officer", "senior_officer")
def reopen(alert_id: int) -> Any:
    return _act(alert_id, "reopen", "Alert reopened.", note=request.form.get("note"))


@desk_bp.post("/alerts/<int:alert_id>/notes")
@roles_required("officer", "senior_officer")
def add_note(alert_id: int) -> Any:
    kind = request.form.get("kind", "comment")
    return _act(alert_id, "add_note", "Note added.", kind=kind, body=request.form.get("body"))


def _bulk_params(form_or_args: Any) -> tuple[str, dict[str, object]]:
    action = form_or_args.get("action", "")
    if action == "assign":
        # Not "assignee": that name is the queue filter's, which travels with the selection.
        assignee = form_or_args.get("assign_to", "").strip()
        if assignee == "me":
            assignee = g.user.username
        return "assign", {"assignee": assignee or None}
    if action == "close_duplicate":
        return "close", {"resolution": "duplicate", "note": form_or_args.get("note", "")}
    abort(400)


@desk_bp.get("/alerts/bulk")
@roles_required("officer", "senior_officer")
def bulk_confirm() -> Any:
    """Step 1: show what the filtered selection holds and what will be done to it."""
    f = AlertFilter.from_args(request.args, g.user.username)
    action, params = _bulk_params(request.args)
    ticked = sorted({int(i) for i in request.args.getlist("alert_id") if i.isdigit()})
    if request.args.get("selected") and not ticked:
        flash("Tick the rows to act on first.", "error")
        return redirect(url_for("alerts.queue", **f.args()))
    with session_scope() as s:
        # ticked rows (each still within the filter), or the whole filter
        ids = (
            [i for i in matching_ids(s, f, 100_000) if i in set(ticked)]
            if ticked
            else matching_ids(s, f, BULK_LIMIT + 1)
        )
        alerts = list(
            s.scalars(
                select(AlertRow)
                .where(AlertRow.id.in_(ids[:BULK_LIMIT]))
                .order_by(AlertRow.id.desc())
            )
        )
    return render_template(
        "alerts/bulk_confirm.html",
        f=f,
        alerts=alerts,
        too_many=len(ids) > BULK_LIMIT,
        action=request.args.get("action"),
        params=params,
        limit=BULK_LIMIT,
    )


@desk_bp.post("/alerts/bulk")
@roles_required("officer", "senior_officer")
def bulk_apply() -> Any:
    """Step 2: apply to exactly the alerts that were shown (ids posted back), each audited."""
    action, params = _bulk_params(request.form)
    try:
        ids = sorted({int(i) for i in request.form.getlist("alert_id")})
    except ValueError:
        abort(400)
    if not ids or len(ids) > BULK_LIMIT:
        abort(400)
    if action == "close" and not str(params.get("note") or "").strip():
        flash("Closing as duplicate needs a note saying why.", "error")
        return redirect(url_for("alerts.queue", **AlertFilter.from_args(request.form).args()))
    done, refused = run_bulk(ids, Actor.of(g.user), action, **params)
    flash(f"{len(done)} alert(s) updated; {len(refused)} refused.")
    for alert_id, reason in sorted(refused.items())[:20]:
        flash(f"alert {alert_id}: {reason}", "error")
    return redirect(url_for("alerts.queue", **AlertFilter.from_args(request.form).args()))


def _audit_query(args: Any) -> tuple[Any, dict[str, str]]:
    """The audit rows the filters select (the page and its exports read the same query)."""
    actor = args.get("actor", "").strip()[:100]
    action = args.get("action", "").strip()[:50]
    case = args.get("case", "").strip()[:20]
    day_from, day_to = args.get("from", ""), args.get("to", "")
    stmt = select(AuditRow)
    if actor:
        stmt = stmt.where(AuditRow.actor == actor)
    if action:
        stmt = stmt.where(AuditRow.action == action)
    if case.isdigit():
        # the case's own rows and those of the alerts it holds
        from engine.cases.tables import CaseAlertRow

        held = select(CaseAlertRow.alert_id).where(CaseAlertRow.case_id == int(case))
        stmt = stmt.where(
            ((AuditRow.target_type == "case") & (AuditRow.target_id == case))
            | AuditRow.alert_id.in_(held)
        )
    for value, later in ((day_from, False), (day_to, True)):
        try:
            day = datetime.combine(date.fromisoformat(value), time.min, UTC)
        except ValueError:
            continue
        stmt = stmt.where(AuditRow.at < day + timedelta(days=1) if later else AuditRow.at >= day)
    filters = {"actor": actor, "action": action, "case": case, "from": day_from, "to": day_to}
    return stmt, filters


@desk_bp.get("/audit")
@roles_required("auditor", "admin", "senior_officer")
def audit_log() -> Any:
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    stmt, filters = _audit_query(request.args)
    with session_scope() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(
            s.scalars(
                stmt.order_by(AuditRow.at.desc(), AuditRow.id.desc())
                .limit(AUDIT_PAGE)
                .offset((page - 1) * AUDIT_PAGE)
            )
        )
    return render_template(
        "desk/audit.html",
        rows=rows,
        page=page,
        total=total,
        actor=filters["actor"],
        action=filters["action"],
        case=filters["case"],
        day_from=filters["from"],
        day_to=filters["to"],
        query={k: v for k, v in filters.items() if v},
        can_export=g.user.role in EXPORT_ROLES,
        pages=max(1, -(-total // AUDIT_PAGE)),
    )


@desk_bp.get("/audit.csv")
@roles_required(*EXPORT_ROLES)
def audit_csv() -> Any:
    return _audit_export("csv")


@desk_bp.get("/audit.jsonl")
@roles_required(*EXPORT_ROLES)
def audit_jsonl() -> Any:
    return _audit_export("jsonl")


def _audit_export(fmt: str) -> Any:
    """The filtered log for auditors, oldest first: CSV (cells formula-protected, ISO 8601 UTC
    times, as the alert CSV) or JSON Lines (one record per line, values as stored). The export
    itself is recorded in the log, after the rows it exports."""
    from web.desk import audit_export as export

    stmt, filters = _audit_query(request.args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with session_scope() as s:
        mark = AuditRow(
            at=datetime.now(UTC),
            actor=g.user.username,
            action="export_audit_log",
            target_type="audit_log",
            target_id=fmt,
            after={k: v for k, v in filters.items() if v} or None,
        )
        s.add(mark)
        s.flush()
        mark_id = mark.id
    rows = export.stream(stmt.where(AuditRow.id < mark_id), fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/jsonl"
    return Response(
        rows,  # needs no request context: the query is built, the user read
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.{fmt}"'},
    )

"""The case queue and the case page (issue 14): what an officer works instead of alert piles.

Reads cases filed by the worker (engine.cases.filing); the actions close every open alert of a
case through the desk workflow (so four eyes and audit apply alert by alert), merge and split
(engine.cases.actions, audited as ``case`` rows).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from engine.approvals import routing
from engine.cases import changes as case_changes
from engine.cases.actions import CaseError, alerts_of, merge, split, sync
from engine.cases.keys import normal_name
from engine.cases.sla import due_at, sla_hours
from engine.cases.tables import CASE_STATES, CaseAlertRow, CaseEventRow, CaseKeyRow, CaseRow
from engine.models.decisions import SEVERITIES, SEVERITY_RANK
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.tables import AlertRow, EventRow
from web.alerts import _like_escape, subjects
from web.auth.access import READERS, roles_required
from web.desk.workflow import ACTIVE_STATES, RESOLUTIONS, Actor, WorkflowError, close

cases_bp = Blueprint("cases", __name__)

PAGE = 100
SORTS = ("due", "opened", "severity", "last", "id")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def search_condition(q: str) -> Any:
    """A case matches a search by list reference (KPe.047), IMO, party or vessel name: its keys,
    or the stored JSON of one of its events (vessel names, places)."""
    needle = _like_escape(q.strip().lower())
    party = _like_escape(normal_name(q))
    key_hit = select(CaseKeyRow.case_id).where(
        or_(
            func.lower(CaseKeyRow.key).like(f"%{needle}%", escape="\\"),
            *([CaseKeyRow.key.like(f"party:%{party}%", escape="\\")] if party else []),
        )
    )
    event_hit = (
        select(CaseEventRow.case_id)
        .join(EventRow, EventRow.event_id == CaseEventRow.event_id)
        .where(func.lower(cast(EventRow.raw, String)).like(f"%{needle}%", escape="\\"))
    )
    return or_(CaseRow.id.in_(key_hit), CaseRow.id.in_(event_hit))


def _counts(
    s: Session, case_ids: list[int]
) -> tuple[dict[int, int], dict[int, int], dict[int, list[str]]]:
    alerts = dict(
        s.execute(
            select(CaseAlertRow.case_id, func.count())
            .where(CaseAlertRow.case_id.in_(case_ids))
            .group_by(CaseAlertRow.case_id)
        ).all()
    )
    events = dict(
        s.execute(
            select(CaseEventRow.case_id, func.count())
            .where(CaseEventRow.case_id.in_(case_ids))
            .group_by(CaseEventRow.case_id)
        ).all()
    )
    assignees: dict[int, list[str]] = {}
    for case_id, who in s.execute(
        select(CaseAlertRow.case_id, AlertRow.assignee)
        .join(AlertRow, AlertRow.id == CaseAlertRow.alert_id)
        .where(CaseAlertRow.case_id.in_(case_ids), AlertRow.assignee.is_not(None))
        .distinct()
    ):
        assignees.setdefault(case_id, []).append(who or "")
    return alerts, events, assignees


@cases_bp.get("/cases")
@roles_required(*READERS)
def queue() -> Any:
    status = request.args.get("status", "open")
    status = status if status in (*CASE_STATES, "all") else "open"
    severity = request.args.get("severity", "")
    q = request.args.get("q", "").strip()[:200]
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    overdue_only = request.args.get("overdue") == "1"
    now = datetime.now(UTC)
    conds: list[Any] = []
    if status != "all":
        conds.append(CaseRow.status == status)
    if severity in SEVERITIES:
        conds.append(CaseRow.severity == severity)
    if q:
        conds.append(search_condition(q))
    hours = sla_hours()
    with session_scope() as s:
        cases = list(
            s.scalars(select(CaseRow).where(*conds).order_by(CaseRow.id.desc()).limit(2000))
        )
        status_counts = dict(
            s.execute(select(CaseRow.status, func.count()).group_by(CaseRow.status)).all()
        )
        due = {c.id: due_at(c.severity, _aware(c.opened_at), hours) for c in cases}  # type: ignore[arg-type]
        overdue = {c.id for c in cases if c.status == "open" and due[c.id] <= now}
        if overdue_only:
            cases = [c for c in cases if c.id in overdue]
        keyed = {
            "due": lambda c: (c.status != "open", due[c.id]),
            "opened": lambda c: -_aware(c.opened_at).timestamp(),  # type: ignore[union-attr]
            "severity": lambda c: (-SEVERITY_RANK.get(c.severity, 0), due[c.id]),
            "last": lambda c: -_aware(c.last_occurred_at).timestamp(),  # type: ignore[union-attr]
            "id": lambda c: -c.id,
        }
        cases.sort(key=keyed[sort])
        total = len(cases)
        cases = cases[:PAGE]
        ids = [c.id for c in cases]
        n_alerts, n_events, assignees = _counts(s, ids)
        first_event = dict(
            s.execute(
                select(CaseEventRow.case_id, func.min(CaseEventRow.event_id))
                .where(CaseEventRow.case_id.in_(ids), CaseEventRow.role == "first")
                .group_by(CaseEventRow.case_id)
            ).all()
        )
        about = subjects(s, list(first_event.values()))
        workload = _workload(s)
    return render_template(
        "cases/list.html",
        cases=cases,
        total=total,
        due=due,
        overdue=overdue,
        n_alerts=n_alerts,
        n_events=n_events,
        assignees=assignees,
        about={cid: about.get(eid, "") for cid, eid in first_event.items()},
        status=status,
        severity=severity,
        q=q,
        sort=sort,
        overdue_only=overdue_only,
        states=CASE_STATES,
        severities=SEVERITIES,
        status_counts=status_counts,
        workload=workload,
        hours=hours,
    )


def _workload(s: Session) -> list[tuple[str, int, int]]:
    """Per assignee: open alerts and the open cases they touch (the team's spread of work)."""
    rows = s.execute(
        select(
            AlertRow.assignee,
            func.count(AlertRow.id),
            func.count(func.distinct(CaseAlertRow.case_id)),
        )
        .join(CaseAlertRow, CaseAlertRow.alert_id == AlertRow.id, isouter=True)
        .where(AlertRow.status.in_(ACTIVE_STATES))
        .group_by(AlertRow.assignee)
    ).all()
    return sorted(((a or "unassigned", n, c) for a, n, c in rows), key=lambda r: -r[1])


@cases_bp.get("/cases/<int:case_id>")
@roles_required(*READERS)
def detail(case_id: int) -> Any:
    with session_scope() as s:
        case = s.get(CaseRow, case_id)
        if case is None:
            abort(404)
        alerts = alerts_of(s, case_id)
        events = list(
            s.scalars(
                select(CaseEventRow)
                .where(CaseEventRow.case_id == case_id)
                .order_by(CaseEventRow.occurred_at, CaseEventRow.id)
            )
        )
        keys = list(
            s.scalars(
                select(CaseKeyRow.key).where(CaseKeyRow.case_id == case_id).order_by(CaseKeyRow.id)
            )
        )
        siblings = list(
            s.scalars(
                select(CaseRow)
                .where(
                    CaseRow.id != case_id,
                    or_(
                        CaseRow.id.in_(select(CaseKeyRow.case_id).where(CaseKeyRow.key.in_(keys))),
                        CaseRow.merged_into == case_id,
                        CaseRow.split_from == case_id,
                        CaseRow.id == case.split_from,
                        CaseRow.id == case.merged_into,
                        CaseRow.id == case.duplicate_of,
                    ),
                )
                .order_by(CaseRow.id)
                .limit(50)
            )
        )
        history = list(
            s.scalars(
                select(AuditRow)
                .where(
                    or_(
                        and_(AuditRow.target_type == "case", AuditRow.target_id == str(case_id)),
                        AuditRow.alert_id.in_([a.id for a in alerts] or [-1]),
                    )
                )
                .order_by(AuditRow.at, AuditRow.id)
            )
        )
        about = subjects(s, [e.event_id for e in events])
        approvers = [u for u in routing.seniors(s) if u != g.user.username]
        gone = set(routing.away(s))
    hours = sla_hours()
    return render_template(
        "cases/detail.html",
        case=case,
        alerts=alerts,
        events=events,
        keys=keys,
        siblings=siblings,
        history=history,
        about=about,
        due=due_at(case.severity, _aware(case.opened_at), hours),  # type: ignore[arg-type]
        now=datetime.now(UTC),
        resolutions=RESOLUTIONS,
        can_act=g.user.role in ("officer", "senior_officer"),
        active=[a for a in alerts if a.status in ("open", "in_review", "escalated")],
        approvers=approvers,
        away=gone,
    )


def _back(case_id: int) -> Any:
    return redirect(url_for("cases.detail", case_id=case_id), code=303)


@cases_bp.post("/cases/<int:case_id>/close")
@roles_required("officer", "senior_officer")
def close_case(case_id: int) -> Any:
    """Close every open alert of the case with one resolution and rationale (four eyes and the
    escalation rule apply to each alert; the case closes with its last alert)."""
    resolution = request.form.get("resolution", "")
    note = (request.form.get("note") or "").strip()
    approver = request.form.get("approver") or None
    actor = Actor.of(g.user)
    duplicate_of: int | None = None
    try:
        if resolution == "duplicate":
            try:
                duplicate_of = int(request.form.get("duplicate_of", ""))
            except ValueError:
                raise WorkflowError("closing as duplicate names the case it duplicates") from None
        with session_scope() as s:
            case = s.get(CaseRow, case_id)
            if case is None:
                abort(404)
            if duplicate_of is not None:
                other = s.get(CaseRow, duplicate_of)
                if other is None or duplicate_of == case_id:
                    raise WorkflowError(f"case {duplicate_of} is not another case")
                note = f"Duplicate of case #{duplicate_of}. {note}".strip()
            todo = [
                a.id
                for a in alerts_of(s, case_id)
                if a.status in ("open", "in_review", "escalated")
            ]
            if not todo:
                raise WorkflowError("this case has no open alert to close")
            pending = 0
            for alert_id in todo:
                done_alert = close(s, alert_id, actor, resolution, note, approver)
                if done_alert.status == "pending_approval":
                    pending += 1
            done = sync(s, case_id, actor.username)
            if duplicate_of is not None:
                done.duplicate_of = duplicate_of
            if done.status == "closed":
                done.rationale = note
            if duplicate_of is not None or done.status == "closed":
                case_changes.record_session(s, case_id, "close", actor.username)  # journaled
    except (WorkflowError, CaseError) as exc:
        flash(str(exc), "error")
        return _back(case_id)
    if pending:
        who = approver if approver and approver != routing.POOL else "a second senior officer"
        flash(
            f"{len(todo) - pending} alert(s) closed; {pending} critical alert(s) wait for "
            f"{who} to approve."
        )
    else:
        flash("Case closed.")
    return _back(case_id)


@cases_bp.post("/cases/<int:case_id>/merge")
@roles_required("officer", "senior_officer")
def merge_case(case_id: int) -> Any:
    try:
        target = int(request.form.get("into", ""))
    except ValueError:
        flash("name the case to merge this one into", "error")
        return _back(case_id)
    try:
        with session_scope() as s:
            merge(s, case_id, target, g.user.username, request.form.get("note", ""))
    except CaseError as exc:
        flash(str(exc), "error")
        return _back(case_id)
    flash(f"Case {case_id} merged into case {target}.")
    return _back(target)


@cases_bp.post("/cases/<int:case_id>/split")
@roles_required("officer", "senior_officer")
def split_case(case_id: int) -> Any:
    ids = [int(x) for x in request.form.getlist("alert_id") if x.isdigit()]
    try:
        with session_scope() as s:
            new = split(s, case_id, ids, g.user.username, request.form.get("note", ""))
            new_id = new.id
    except CaseError as exc:
        flash(str(exc), "error")
        return _back(case_id)
    flash(f"{len(ids)} alert(s) split out into case {new_id}.")
    return _back(new_id)

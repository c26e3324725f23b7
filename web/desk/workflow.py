"""Alert lifecycle: open -> in_review -> escalated -> closed (true_positive | false_positive |
duplicate), with reopen; assignment, comments, evidence notes; four eyes on critical false
positives. Every change writes an audit row in the same transaction. Nothing is deleted.

The rules live here (not in the views) so bulk actions, views and tests share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from engine.approvals import routing
from engine.approvals.tables import ApprovalRouteRow
from engine.cases.actions import case_of_alert, sync_alert
from engine.notify.events import closure_requested
from engine.storage.db import session_scope
from engine.storage.desk_tables import AlertNoteRow, ClosureApprovalRow, UserRow
from engine.storage.tables import AlertRow
from web.desk.audit import record

STATES = ("open", "in_review", "escalated", "pending_approval", "closed")
ACTIVE_STATES = ("open", "in_review", "escalated", "pending_approval")
RESOLUTIONS = ("true_positive", "false_positive", "duplicate")
REVIEWER_ROLES = ("officer", "senior_officer")
NOTE_KINDS = ("comment", "evidence")
MAX_NOTE = 10_000


class WorkflowError(ValueError):
    """An action that is not allowed in this state or for this user (message is safe to show)."""


@dataclass(frozen=True)
class Actor:
    username: str
    role: str

    @classmethod
    def of(cls, user: UserRow) -> Actor:
        return cls(user.username, user.role)


def needs_second_approval(alert: AlertRow, resolution: str) -> bool:
    # A duplicate closure hides a critical alert as surely as a false positive does.
    return alert.severity == "critical" and resolution in ("false_positive", "duplicate")


def _snapshot(alert: AlertRow) -> dict[str, str | None]:
    return {"status": alert.status, "resolution": alert.resolution, "assignee": alert.assignee}


def _load(session: Session, alert_id: int) -> AlertRow:
    # Row lock on PostgreSQL; populate_existing so a copy already in the session is refreshed.
    alert = session.get(AlertRow, alert_id, with_for_update=True, populate_existing=True)
    if alert is None:
        raise WorkflowError(f"no alert {alert_id}")
    return alert


def _reviewer(actor: Actor) -> None:
    if actor.role not in REVIEWER_ROLES:
        raise WorkflowError("only officers and senior officers act on alerts")


def _text(note: str | None, required: bool, what: str) -> str | None:
    note = (note or "").strip()
    if required and not note:
        raise WorkflowError(f"{what} needs a note saying why")
    if len(note) > MAX_NOTE:
        raise WorkflowError(f"note is longer than {MAX_NOTE} characters")
    return note or None


def _change(
    session: Session,
    alert: AlertRow,
    actor: Actor,
    action: str,
    note: str | None,
    **changes: object,
) -> None:
    before = _snapshot(alert)
    closed_before = alert.closed_at
    # Compare-and-set on the state we checked: SQLite has no row locks, so two reviewers acting
    # at once must not both succeed (e.g. two closures, or an approval racing a rejection).
    unchanged = [
        AlertRow.id == alert.id,
        *(
            getattr(AlertRow, k) == v if v is not None else getattr(AlertRow, k).is_(None)
            for k, v in before.items()
        ),
    ]
    result = session.execute(
        update(AlertRow)
        .where(*unchanged)
        .values(**changes, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise WorkflowError("someone else changed this alert meanwhile: reload it and try again")
    session.refresh(alert)
    record(
        session,
        actor.username,
        action,
        "alert",
        alert.id,
        alert_id=alert.id,
        # closed_at too: audit verify holds the alert row to this after (engine.audit.states)
        before={**before, "closed_at": closed_before},
        after={**_snapshot(alert), "closed_at": alert.closed_at},
        note=note,
    )
    sync_alert(session, alert.id, actor.username)  # the case closes with its last alert


def pending_approval(session: Session, alert_id: int) -> ClosureApprovalRow | None:
    return session.scalar(
        select(ClosureApprovalRow)
        .where(ClosureApprovalRow.alert_id == alert_id, ClosureApprovalRow.decision.is_(None))
        .order_by(ClosureApprovalRow.id.desc())
    )


# --- actions on one alert, inside a caller's session -------------------------------------------


def assign(session: Session, alert_id: int, actor: Actor, assignee: str | None) -> AlertRow:
    _reviewer(actor)
    alert = _load(session, alert_id)
    if alert.status == "closed":
        raise WorkflowError("a closed alert cannot be assigned; reopen it first")
    assignee = (assignee or "").strip() or None
    if assignee is not None:
        user = session.scalar(select(UserRow).where(UserRow.username == assignee))
        if user is None or not user.active or user.role not in REVIEWER_ROLES:
            raise WorkflowError(f"{assignee!r} is not an active officer or senior officer")
    if assignee == alert.assignee:
        raise WorkflowError("the alert is already assigned so")
    _change(session, alert, actor, "assign" if assignee else "unassign", None, assignee=assignee)
    return alert


def start_review(session: Session, alert_id: int, actor: Actor) -> AlertRow:
    _reviewer(actor)
    alert = _load(session, alert_id)
    if alert.status != "open":
        raise WorkflowError(f"only an open alert can go into review (it is {alert.status})")
    changes: dict[str, object] = {"status": "in_review"}
    if alert.assignee is None:
        changes["assignee"] = actor.username
    _change(session, alert, actor, "start_review", None, **changes)
    return alert


def escalate(session: Session, alert_id: int, actor: Actor, note: str | None) -> AlertRow:
    _reviewer(actor)
    alert = _load(session, alert_id)
    if alert.status not in ("open", "in_review"):
        raise WorkflowError(f"an alert that is {alert.status} cannot be escalated")
    _change(session, alert, actor, "escalate", _text(note, True, "escalating"), status="escalated")
    return alert


def close(
    session: Session,
    alert_id: int,
    actor: Actor,
    resolution: str,
    note: str | None,
    approver: str | None = None,
) -> AlertRow:
    """Close, or for a critical false positive ask a second senior officer (pending_approval):
    ``approver`` names the senior it is routed to (None or "pool": any senior but the asker)."""
    _reviewer(actor)
    if resolution not in RESOLUTIONS:
        raise WorkflowError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    alert = _load(session, alert_id)
    if alert.status in ("closed", "pending_approval"):
        raise WorkflowError(f"an alert that is {alert.status} cannot be closed again")
    if alert.status == "escalated" and actor.role != "senior_officer":
        raise WorkflowError("an escalated alert is closed by a senior officer")
    text = _text(note, True, "closing")
    if needs_second_approval(alert, resolution):
        request = ClosureApprovalRow(
            alert_id=alert.id,
            resolution=resolution,
            requested_by=actor.username,
            requested_at=datetime.now(UTC),
            previous_status=alert.status,
        )
        session.add(request)
        session.flush()
        _change(
            session,
            alert,
            actor,
            "request_closure",
            text,
            status="pending_approval",
            resolution=resolution,
        )
        try:
            routing.open_route(
                session,
                "closure",
                request.id,
                requested_by=actor.username,
                to=approver,
                title=alert.title,
                alert_id=alert.id,
            )
        except routing.RoutingError as exc:
            raise WorkflowError(str(exc)) from None
        # the senior officers are told (webhook / e-mail outbox), in this transaction
        closure_requested(
            session.connection(),
            request.id,
            alert,
            actor.username,
            resolution,
            case_of_alert(session, alert.id),
            routed_to=None if approver in (None, "", routing.POOL) else approver,
        )
        return alert
    _change(
        session,
        alert,
        actor,
        "close",
        text,
        status="closed",
        resolution=resolution,
        closed_at=datetime.now(UTC),
    )
    return alert


def decide_closure(
    session: Session, alert_id: int, actor: Actor, approve: bool, note: str | None
) -> AlertRow:
    """The second pair of eyes: another senior officer approves or rejects the closure."""
    if actor.role != "senior_officer":
        raise WorkflowError("only a senior officer approves or rejects a closure")
    alert = _load(session, alert_id)
    request = pending_approval(session, alert_id)
    if alert.status != "pending_approval" or request is None:
        raise WorkflowError("this alert has no closure waiting for approval")
    if request.requested_by == actor.username:
        raise WorkflowError("the officer who asked for the closure cannot approve or reject it")
    try:
        routing.check_decider(session, "closure", request.id, actor.username)
    except routing.RoutingError as exc:
        raise WorkflowError(str(exc)) from None
    now = datetime.now(UTC)
    decided = session.execute(
        update(ClosureApprovalRow)
        .where(ClosureApprovalRow.id == request.id, ClosureApprovalRow.decision.is_(None))
        .values(
            decided_by=actor.username,
            decided_at=now,
            decision="approved" if approve else "rejected",
        )
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], decided).rowcount != 1:
        raise WorkflowError("this closure was decided by someone else meanwhile: reload")
    routing.settle(session, "closure", request.id, actor.username)
    if approve:
        _change(
            session,
            alert,
            actor,
            "approve_closure",
            _text(note, False, "approving"),
            status="closed",
            closed_at=now,
        )
    else:
        _change(
            session,
            alert,
            actor,
            "reject_closure",
            _text(note, True, "rejecting"),
            status=request.previous_status,
            resolution=None,
        )
    return alert


def reopen(session: Session, alert_id: int, actor: Actor, note: str | None) -> AlertRow:
    _reviewer(actor)
    alert = _load(session, alert_id)
    if alert.status != "closed":
        raise WorkflowError("only a closed alert can be reopened")
    _change(
        session,
        alert,
        actor,
        "reopen",
        _text(note, True, "reopening"),
        status="in_review",
        resolution=None,
        closed_at=None,
    )
    return alert


def add_note(
    session: Session, alert_id: int, actor: Actor, kind: str, body: str | None
) -> AlertNoteRow:
    _reviewer(actor)
    if kind not in NOTE_KINDS:
        raise WorkflowError("unknown note kind")
    text = _text(body, True, "a note")
    alert = _load(session, alert_id)
    note = AlertNoteRow(
        alert_id=alert.id, kind=kind, author=actor.username, at=datetime.now(UTC), body=text
    )
    session.add(note)
    session.flush()
    record(
        session,
        actor.username,
        kind,
        "alert",
        alert.id,
        alert_id=alert.id,
        note=text,
        after={"note_id": note.id},
    )
    return note


# --- transactions ------------------------------------------------------------------------------


def run(alert_id: int, actor: Actor, action: str, **kwargs: object) -> AlertRow | AlertNoteRow:
    """One action on one alert in its own transaction (what a view calls)."""
    fn = ACTIONS[action]
    with session_scope() as s:
        return fn(s, alert_id, actor, **kwargs)


def run_bulk(
    alert_ids: list[int], actor: Actor, action: str, **kwargs: object
) -> tuple[list[int], dict[int, str]]:
    """Apply one action to many alerts, each in its own transaction; returns (done, refused)."""
    if action not in BULK_ACTIONS:
        raise WorkflowError("unknown bulk action")
    done: list[int] = []
    refused: dict[int, str] = {}
    for alert_id in alert_ids:
        try:
            run(alert_id, actor, action, **kwargs)
        except WorkflowError as exc:
            refused[alert_id] = str(exc)
        else:
            done.append(alert_id)
    return done, refused


ACTIONS: dict[str, Callable[..., AlertRow | AlertNoteRow]] = {
    "assign": assign,
    "start_review": start_review,
    "escalate": escalate,
    "close": close,
    "decide_closure": decide_closure,
    "reopen": reopen,
    "add_note": add_note,
}
BULK_ACTIONS = ("assign", "close")


def allowed_actions(
    alert: AlertRow,
    role: str | None,
    username: str | None,
    pending: ClosureApprovalRow | None,
    route: ApprovalRouteRow | None = None,
) -> set[str]:
    """What buttons to show (the functions above still enforce every rule)."""
    if role not in REVIEWER_ROLES:
        return set()
    acts = {"add_note"}
    if alert.status != "closed":
        acts.add("assign")
    if alert.status == "open":
        acts.add("start_review")
    if alert.status in ("open", "in_review"):
        acts |= {"escalate", "close"}
    if alert.status == "escalated" and role == "senior_officer":
        acts.add("close")
    if (
        alert.status == "pending_approval"
        and role == "senior_officer"
        and pending is not None
        and routing.may_decide(route, pending.requested_by, username or "")
    ):
        acts.add("decide_closure")
    if alert.status == "closed":
        acts.add("reopen")
    return acts

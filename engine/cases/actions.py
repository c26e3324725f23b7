"""What the desk does to cases themselves: keep a case's status in step with its alerts, merge two
cases, split alerts out into a new case. Each change writes an audit_log row (target_type
``case``) in the caller's transaction. Nothing is deleted: a merged case stays, marked merged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.cases import changes
from engine.cases.filing import _worst
from engine.cases.tables import CaseAlertRow, CaseEventRow, CaseKeyRow, CaseRow
from engine.models.decisions import SEVERITY_RANK
from engine.storage.desk_tables import AuditRow
from engine.storage.tables import AlertRow


class CaseError(ValueError):
    """A case action that is not allowed (message is safe to show)."""


def _audit(
    session: Session,
    actor: str,
    action: str,
    case_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str | None,
) -> None:
    session.add(
        AuditRow(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target_type="case",
            target_id=str(case_id),
            before=before,
            after=after,
            note=note,
        )
    )


def case_of_alert(session: Session, alert_id: int) -> int | None:
    return session.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id))


def alerts_of(session: Session, case_id: int) -> list[AlertRow]:
    return list(
        session.scalars(
            select(AlertRow)
            .join(CaseAlertRow, CaseAlertRow.alert_id == AlertRow.id)
            .where(CaseAlertRow.case_id == case_id)
            .order_by(AlertRow.id)
        )
    )


def sync(session: Session, case_id: int, actor: str | None = None) -> CaseRow:
    """Status, severity and closure of a case from its alerts: closed when every alert is closed
    (by whoever closed the last one), open again when one is reopened. A merged case stays so."""
    case = session.get(CaseRow, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise CaseError(f"no case {case_id}")
    alerts = alerts_of(session, case_id)
    if case.status == "merged" or not alerts:
        return case
    before = changes.state_of({f: getattr(case, f) for f in changes.FIELDS})
    now = datetime.now(UTC)
    case.severity = _worst(*(a.severity for a in alerts))
    if all(a.status == "closed" for a in alerts):
        if case.status != "closed":
            case.status = "closed"
            case.closed_at = now
            case.closed_by = actor
            resolutions = {a.resolution for a in alerts}
            case.resolution = resolutions.pop() if len(resolutions) == 1 else "mixed"
    elif case.status == "closed":
        case.status = "open"
        case.closed_at = case.closed_by = case.resolution = None
        case.duplicate_of = None
    case.updated_at = now
    session.flush()
    if changes.state_of({f: getattr(case, f) for f in changes.FIELDS}) != before:
        action = {"closed": "close", "open": "reopen"}.get(case.status, "sync")
        if before["status"] == case.status:
            action = "sync"  # severity or closure details only
        changes.record_session(session, case_id, action, actor)
    return case


def sync_alert(session: Session, alert_id: int, actor: str | None = None) -> None:
    case_id = case_of_alert(session, alert_id)
    if case_id is not None:
        sync(session, case_id, actor)


def merge(session: Session, source_id: int, target_id: int, actor: str, note: str) -> CaseRow:
    """Move every alert, event and key of ``source`` into ``target``; source is marked merged."""
    if source_id == target_id:
        raise CaseError("a case cannot be merged into itself")
    if not (note or "").strip():
        raise CaseError("merging needs a note saying why")
    source = session.get(CaseRow, source_id, with_for_update=True, populate_existing=True)
    target = session.get(CaseRow, target_id, with_for_update=True, populate_existing=True)
    if source is None or target is None:
        raise CaseError("no such case")
    if "merged" in (source.status, target.status):
        raise CaseError("a merged case cannot be merged again; use the case it was merged into")
    moved = [a.id for a in alerts_of(session, source_id)]
    session.execute(
        update(CaseAlertRow).where(CaseAlertRow.case_id == source_id).values(case_id=target_id)
    )
    have = set(
        session.scalars(select(CaseEventRow.event_id).where(CaseEventRow.case_id == target_id))
    )
    for ev in session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == source_id)):
        if ev.event_id not in have:
            session.add(
                CaseEventRow(
                    case_id=target_id,
                    event_id=ev.event_id,
                    role="occurrence",
                    joined_by=f"merged from case {source_id}",
                    linked_at=datetime.now(UTC),
                    occurred_at=ev.occurred_at,
                )
            )
    session.flush()
    joined = [
        (int(i), str(r))
        for i, r in session.execute(
            select(CaseEventRow.id, CaseEventRow.role).where(
                CaseEventRow.case_id == target_id, CaseEventRow.event_id.not_in(have)
            )
        )
    ]
    keys = set(session.scalars(select(CaseKeyRow.key).where(CaseKeyRow.case_id == target_id)))
    for key in session.scalars(select(CaseKeyRow.key).where(CaseKeyRow.case_id == source_id)):
        if key not in keys:
            session.add(CaseKeyRow(case_id=target_id, key=key))
    before = {"status": source.status}
    source.status = "merged"
    source.merged_into = target_id
    source.updated_at = datetime.now(UTC)
    target.last_occurred_at = max(_aware(target.last_occurred_at), _aware(source.last_occurred_at))
    session.flush()
    sync(session, target_id, actor)
    changes.record_session(session, source_id, "merged", actor)
    changes.record_session(session, target_id, "absorb_case", actor, moved, joined)
    _audit(
        session,
        actor,
        "merge_case",
        source_id,
        before,
        {"status": "merged", "merged_into": target_id, "alerts": moved},
        note.strip(),
    )
    _audit(
        session, actor, "absorb_case", target_id, None, {"from": source_id, "alerts": moved}, None
    )
    return target


def split(session: Session, case_id: int, alert_ids: list[int], actor: str, note: str) -> CaseRow:
    """Move some alerts (with their events) out of a case into a new case of their own."""
    if not (note or "").strip():
        raise CaseError("splitting needs a note saying why")
    case = session.get(CaseRow, case_id, with_for_update=True, populate_existing=True)
    if case is None or case.status == "merged":
        raise CaseError("only an open or closed case can be split")
    alerts = alerts_of(session, case_id)
    chosen = [a for a in alerts if a.id in set(alert_ids)]
    if not chosen:
        raise CaseError("choose the alerts to split out")
    if len(chosen) == len(alerts):
        raise CaseError("splitting out every alert would leave the case empty")
    now = datetime.now(UTC)
    top = max(chosen, key=lambda a: SEVERITY_RANK.get(a.severity, 0))
    new = CaseRow(
        status="open",
        severity=_worst(*(a.severity for a in chosen)),
        title=top.title,
        opened_at=now,
        updated_at=now,
        last_occurred_at=max(_aware(a.occurred_at) for a in chosen),
        split_from=case_id,
    )
    session.add(new)
    session.flush()
    ids = [a.id for a in chosen]
    session.execute(
        update(CaseAlertRow).where(CaseAlertRow.alert_id.in_(ids)).values(case_id=new.id)
    )
    remaining = {a.event_id for a in alerts if a.id not in set(ids)}
    for i, event_id in enumerate(sorted({a.event_id for a in chosen})):
        occurred = min(_aware(a.occurred_at) for a in chosen if a.event_id == event_id)
        link = {
            "role": "first" if i == 0 else "occurrence",
            "joined_by": f"split from case {case_id}",
            "linked_at": now,
        }
        if event_id in remaining:  # the event stays in both cases (its other alerts stay)
            session.add(
                CaseEventRow(case_id=new.id, event_id=event_id, occurred_at=occurred, **link)
            )
        else:  # the event moves with its alerts
            session.execute(
                update(CaseEventRow)
                .where(CaseEventRow.case_id == case_id, CaseEventRow.event_id == event_id)
                .values(case_id=new.id, **link)
            )
    session.flush()
    sync(session, case_id, actor)
    sync(session, new.id, actor)
    moved_events = [
        (int(i), str(r))
        for i, r in session.execute(
            select(CaseEventRow.id, CaseEventRow.role).where(CaseEventRow.case_id == new.id)
        )
    ]
    changes.record_session(session, case_id, "split", actor)
    changes.record_session(session, new.id, "split_into", actor, ids, moved_events)
    _audit(session, actor, "split_case", case_id, None, {"alerts": ids, "new_case": new.id}, note)
    _audit(session, actor, "split_into", new.id, None, {"from": case_id, "alerts": ids}, None)
    return new


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(CaseRow.status, func.count()).group_by(CaseRow.status)).all()
    return {status: n for status, n in rows}

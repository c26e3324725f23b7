"""The audit trail: one row per action, with who, when, and the state before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.storage.desk_tables import AuditRow


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def record(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    alert_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditRow:
    """Add an audit row in the caller's transaction (it commits or rolls back with the change)."""
    row = AuditRow(
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        alert_id=alert_id,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        note=note,
    )
    session.add(row)
    return row


def alert_history(session: Session, alert_id: int) -> list[AuditRow]:
    return list(
        session.scalars(
            select(AuditRow).where(AuditRow.alert_id == alert_id).order_by(AuditRow.at, AuditRow.id)
        )
    )

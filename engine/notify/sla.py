"""SLA breaches: an open case whose due time (engine.cases.sla: opened_at + hours of its
severity) has passed is recorded once in ``case_sla_breaches`` and told once
(``case.sla_breached``), in one transaction. Run by the sweeper thread and by the dispatcher
command; idempotent (insert-or-ignore on the case id, and the notification's dedupe key), so
sweepers racing each other tell it once. A case that becomes overdue again after being closed
and reopened is not told twice.
"""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, and_, select

from engine.cases.sla import due_at, sla_hours
from engine.cases.tables import CaseRow
from engine.notify.events import SLA_BREACHED, case_summary, emit, insert_ignore
from engine.notify.tables import CaseSlaBreachRow
from engine.storage.db import get_engine

CASES = typing.cast(Table, CaseRow.__table__)
BREACHES = typing.cast(Table, CaseSlaBreachRow.__table__)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def detect_breaches(now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Record and notify the open cases overdue at ``now`` not told yet; returns their ids."""
    now = now or datetime.now(UTC)
    hours = sla_hours()
    told: list[int] = []
    with get_engine().begin() as conn:
        for severity, h in hours.items():
            rows = conn.execute(
                select(CASES.c.id, CASES.c.opened_at)
                .where(
                    and_(
                        CASES.c.status == "open",
                        CASES.c.severity == severity,
                        CASES.c.opened_at <= now - timedelta(hours=h),
                        CASES.c.id.not_in(select(BREACHES.c.case_id)),
                    )
                )
                .order_by(CASES.c.id)
                .limit(limit)
            ).all()
            for r in rows:
                due = due_at(severity, _utc(r.opened_at), hours)
                new = conn.execute(
                    insert_ignore(conn, BREACHES)
                    .values(case_id=r.id, severity=severity, due_at=due, detected_at=now)
                    .returning(BREACHES.c.case_id)
                ).first()
                if new is None:
                    continue
                emit(
                    conn,
                    SLA_BREACHED,
                    f"{SLA_BREACHED}:case:{r.id}",
                    {
                        "case": case_summary(conn, r.id),
                        "due_at": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "sla_hours": h,
                        "detected_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                )
                told.append(r.id)
    return told

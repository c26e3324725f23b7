"""Tables of cases (migration 1400_cases, branch cases; depends on the desk branch's audit_log).

``cases`` is one unit of review; ``case_alerts`` says which case holds an alert (each alert is in
exactly one); ``case_events`` lists the events of a case (the first, then each later occurrence
and the key it was joined by); ``case_keys`` holds what the case is about (``imo:9123456``,
``entry:KPe.047``, ``party:name|country``), the look-up a new event is filed by.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage import tables as _core  # noqa: F401 - registers events/alerts for our FKs
from engine.storage.base import Base, utcnow

CASE_STATES = ("open", "closed", "merged")


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # open (some alert not closed) | closed (every alert closed) | merged (into merged_into)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    # occurred_at of the newest event in the case (the queue's "last occurrence")
    last_occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(20))
    rationale: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    split_from: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    __table_args__ = (
        Index("ix_cases_status_severity", "status", "severity"),
        Index("ix_cases_opened", "opened_at"),
    )


class CaseAlertRow(Base):
    __tablename__ = "case_alerts"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)

    __table_args__ = (Index("ix_case_alerts_case", "case_id"),)


class CaseEventRow(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # first | occurrence
    joined_by: Mapped[str | None] = mapped_column(String(300))  # the key it matched
    linked_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (
        UniqueConstraint("case_id", "event_id", name="uq_case_events_case_event"),
        Index("ix_case_events_event", "event_id"),
    )


class CaseKeyRow(Base):
    __tablename__ = "case_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(300), nullable=False)

    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_case_keys_case_key"),
        Index("ix_case_keys_key", "key"),
    )

"""Tables of snoozes (migration 1430_snoozes, branch i14c).

``snoozes`` holds each snooze as it stands; ``snooze_changes`` is the append-only history, one
row per change numbered by the snooze version it created (the snoozes at version V are the
newest change of each with version <= V); ``snooze_head`` the newest version (bumped first, so
versions follow commit order); ``snooze_occurrences`` each (event, rule) whose alert a snooze
withheld. ``case_id`` is a plain integer: cases are not a core table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage import tables as _core  # noqa: F401 - registers events/alerts for our FKs
from engine.storage.base import Base, JSONType, utcnow


class SnoozeHeadRow(Base):
    __tablename__ = "snooze_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class SnoozeRow(Base):
    __tablename__ = "snoozes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_key: Mapped[str] = mapped_column(String(300), nullable=False)  # party:... | imo:...
    rule_id: Mapped[str] = mapped_column(String(100), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256 of facts
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))  # snoozed from
    case_id: Mapped[int | None] = mapped_column(Integer)  # occurrences are attached here
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    # active -> lifted (by an officer) | ended (its list entry was amended)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column()
    end_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_snoozes_rule_status", "rule_id", "status"),)


class SnoozeChangeRow(Base):
    __tablename__ = "snooze_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    snooze_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)

    __table_args__ = (Index("ix_snooze_changes_snooze", "snooze_id", "version"),)


class SnoozeOccurrenceRow(Base):
    __tablename__ = "snooze_occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snooze_id: Mapped[int] = mapped_column(Integer, nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.event_id"), nullable=False)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    rule_id: Mapped[str] = mapped_column(String(100), nullable=False)
    case_id: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(20), nullable=False)  # live | retro_screening
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("snooze_id", "event_id", "rule_id", name="uq_snooze_occurrences"),
        Index("ix_snooze_occurrences_event", "event_id"),
    )

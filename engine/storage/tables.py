"""Core tables: the immutable event inbox, decisions, alerts, rule pack versions, rejections.

Events are never updated except for their processing ``status``; the raw JSON and its sha256 are
written once. Decisions are unique per event (a redelivered task cannot add a second one) and
alerts are unique per (event, rule) so a retry cannot duplicate them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    contract_version: Mapped[str] = mapped_column(String(8), nullable=False, default="1")
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    # received -> decided | rejected  (an undecided 'received' row is what the sweeper re-queues)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")

    __table_args__ = (
        Index("ix_events_status_received", "status", "received_at"),
        Index("ix_events_occurred_at", "occurred_at"),
    )


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("events.event_id"), unique=True, nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # clear | flagged | rejected
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    rule_pack_version: Mapped[str | None] = mapped_column(String(64))
    list_version: Mapped[str | None] = mapped_column(String(64))
    # Register version the decision read and what it said (migration 1251, branch registers).
    register_version: Mapped[int | None] = mapped_column(Integer)
    register_notes: Mapped[list[str] | None] = mapped_column(JSONType)
    # Data-quality findings of the event ({pointer, message, assumed, unknown, value}: what the
    # intake could not read or interpreted) and whether a violation rests on an unknown value
    # (migration 0800, branch decision_quality). NULL: no finding.
    data_quality: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    needs_information: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # Allowlist version and notes (migration 1401_allowlist, branch allowlist).
    allowlist_version: Mapped[int | None] = mapped_column(Integer)
    allowlist_notes: Mapped[list[str] | None] = mapped_column(JSONType)
    # Snooze version judged against and the alerts it withheld (migration 1430_snoozes).
    snooze_version: Mapped[int | None] = mapped_column(Integer)
    snoozed: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    engine_version: Mapped[str] = mapped_column(String(32), nullable=False)
    evaluated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    __table_args__ = (Index("ix_decisions_status", "status"),)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("events.event_id"), nullable=False
    )
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    rule_id: Mapped[str] = mapped_column(String(100), nullable=False)
    regime: Mapped[str] = mapped_column(String(50), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    citation: Mapped[str] = mapped_column(String(200), nullable=False)
    violation: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    # live | retro_screening
    origin: Mapped[str] = mapped_column(String(20), nullable=False, default="live")
    # open -> in_review -> escalated -> closed (see the desk workflow)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    resolution: Mapped[str | None] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    # Set by the desk when the alert is closed (migration in the `desk` branch).
    closed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("event_id", "rule_id", name="uq_alerts_event_rule"),
        Index("ix_alerts_created", "created_at"),
        Index("ix_alerts_status_severity", "status", "severity"),
        Index("ix_alerts_regime", "regime"),
    )


class RulePackRow(Base):
    """Every rule pack version ever used, with its full canonical text, so replays are exact."""

    __tablename__ = "rule_packs"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    files: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False)  # path -> text


class RejectionRow(Base):
    """A message that never became a valid event (malformed queue payload, invalid JSON)."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # queue | http | cli
    event_id: Mapped[str | None] = mapped_column(String(200))
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False)

"""Tables of notifications (migration 1410_notifications, branch i14a).

``notifications`` is the outbox: one row per thing worth telling (a critical case opened, an
approval requested, an SLA breach), written in the transaction that caused it, unique on its
``dedupe_key`` so a redelivered batch or a second sweeper tells nothing twice. The dispatcher fans
each row out into ``notification_deliveries`` (one per subscribed webhook endpoint, one for email)
and ``notification_attempts`` logs every try. ``webhook_endpoints`` and the email routing
(``notify_email_routes``, ``notify_addresses``) are kept by admins. ``case_sla_breaches`` records
each case found overdue once.

No foreign keys to other areas' tables (cases, users): ids are kept as plain columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class WebhookEndpointRow(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(String(300))
    # The signing secret, kept as is: the dispatcher needs it to sign (whoever reads the database
    # can sign; rotate it from the endpoint page).
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class NotificationRow(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)  # evt_<hex>
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    # e.g. case.critical_opened:case:12 (one notification per fact, whoever writes it)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_notifications_fanned", "fanned_out_at", "id"),)


class DeliveryRow(Base):
    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(
        String(40), unique=True, nullable=False
    )  # X-Sanctions-Delivery
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # webhook | email
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id"))
    target: Mapped[str] = mapped_column(String(40), nullable=False)  # endpoint:<id> | email
    recipients: Mapped[list[str] | None] = mapped_column(JSONType)  # email only
    # pending (due at next_attempt_at) | delivered | failed (attempt_limit reached)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attempt_limit: Mapped[int] = mapped_column(Integer, nullable=False)
    # Also the claim: a dispatcher moves it forward by a lease before it tries, so two
    # dispatchers never send the same attempt and a crashed one's claim expires.
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("notification_id", "target", name="uq_notification_deliveries_target"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_endpoint", "endpoint_id", "id"),
    )


class AttemptRow(Base):
    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("notification_deliveries.id"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, ...
    trigger: Mapped[str] = mapped_column(String(120), nullable=False)  # auto | redeliver by <u>
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()  # when the retry is due, if any

    __table_args__ = (Index("ix_notification_attempts_delivery", "delivery_id", "attempt"),)


class EmailRouteRow(Base):
    """Who is mailed for one event type: addresses and ``role:<role>`` items."""

    __tablename__ = "notify_email_routes"

    event_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    recipients: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class NotifyAddressRow(Base):
    """A desk user's e-mail address (what ``role:senior_officer`` expands to)."""

    __tablename__ = "notify_addresses"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class CaseSlaBreachRow(Base):
    __tablename__ = "case_sla_breaches"

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    detected_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

"""Tables of the review desk: accounts, API keys, login attempts, the audit trail, comments and
four-eyes closure approvals. Rows here are never deleted: users are disabled, keys revoked,
approvals decided; the audit log only grows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage import tables as _core  # noqa: F401 - registers `alerts`, the target of our FKs
from engine.storage.base import Base, JSONType, utcnow

ROLES = ("officer", "senior_officer", "auditor", "admin")
API_SCOPES = (
    "events:write",
    "events:read",
    # the exemption / notification registers: maker (write), checker (approve), readers
    "registers:read",
    "registers:write",
    "registers:approve",
)
EVENT_SCOPES = ("events:write", "events:read")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class LoginAttemptRow(Base):
    """Every login attempt; failures since the last success within a window block further tries."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = (Index("ix_login_attempts_user_ip_at", "username", "ip", "at"),)


class ApiKeyRow(Base):
    """An upstream system's key: only its sha256 is stored; the key is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)  # shown in lists, not secret
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None] = mapped_column()


class AuditRow(Base):
    """Who did what, when, with the state before and after. Alert actions carry the alert id."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    target_type: Mapped[str] = mapped_column(String(30), nullable=False)  # alert | user | api_key
    target_id: Mapped[str] = mapped_column(String(200), nullable=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_log_alert", "alert_id", "at"),
        Index("ix_audit_log_at", "at"),
    )


class AlertNoteRow(Base):
    """A comment or an evidence note attached to an alert (kind: comment | evidence)."""

    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    author: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    body: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_alert_notes_alert", "alert_id", "at"),)


class ClosureApprovalRow(Base):
    """A closure that needs a second senior officer (critical alert closed as false positive)."""

    __tablename__ = "closure_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), nullable=False)
    resolution: Mapped[str] = mapped_column(String(20), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    previous_status: Mapped[str] = mapped_column(String(16), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision: Mapped[str | None] = mapped_column(String(10))  # approved | rejected

    __table_args__ = (Index("ix_closure_approvals_alert", "alert_id"),)

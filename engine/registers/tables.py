"""Tables of the exemption / notification registers (migration 1250_registers, branch registers).

``register_entries`` holds each entry as it stands now; ``register_changes`` is the append-only
history: one row per change, numbered by the register version it created. The register as it
stood at version V is the newest change of every ref with version <= V, so a decision that
records the version it read can be replayed against exactly that register. ``register_head``
is a single row holding the newest version: writers lock and bump it in their transaction, so
versions are handed out in commit order (a reader never sees version 7 before version 6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class RegisterHeadRow(Base):
    __tablename__ = "register_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RegisterEntryRow(Base):
    __tablename__ = "register_entries"

    ref: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # exemption | notification
    regime: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # pending|approved|revoked
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)  # RegisterEntry, JSON
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # register version of last change

    __table_args__ = (Index("ix_register_entries_status", "status"),)


class RegisterChangeRow(Base):
    __tablename__ = "register_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ref: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # create|approve|revoke
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    # The entry after the change: {"entry": RegisterEntry JSON, "status", "created_by", ...}
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_register_changes_ref", "ref"),)

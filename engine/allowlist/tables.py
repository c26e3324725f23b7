"""Tables of the allowlist (migration 1401_allowlist, branch allowlist).

``allowlist_entries`` holds each entry as it stands; ``allowlist_changes`` is the append-only
history, one row per change numbered by the allowlist version it created; the allowlist at
version V is the newest change of every entry with version <= V. ``allowlist_head`` holds the
newest version (writers bump it first, so versions follow commit order).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class AllowlistHeadRow(Base):
    __tablename__ = "allowlist_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AllowlistEntryRow(Base):
    __tablename__ = "allowlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_reference: Mapped[str] = mapped_column(String(40), nullable=False)  # Y, e.g. KPe.047
    party_name: Mapped[str | None] = mapped_column(String(300))  # as typed
    name_norm: Mapped[str | None] = mapped_column(String(300))  # engine.cases.keys.normal_name
    country: Mapped[str | None] = mapped_column(String(2))
    identifiers: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # {lei: ..., ...}
    scope_counterparty: Mapped[str | None] = mapped_column(String(300))  # normalised name
    scope_source: Mapped[str | None] = mapped_column(String(200))  # event.source
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    expires_on: Mapped[date] = mapped_column(Date, nullable=False)
    # pending -> approved -> reopened (list entry amended) -> approved ... | revoked (final)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column()
    status_note: Mapped[str | None] = mapped_column(Text)  # why revoked / re-opened

    __table_args__ = (Index("ix_allowlist_entries_ref", "list_reference"),)


class AllowlistChangeRow(Base):
    __tablename__ = "allowlist_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)

    __table_args__ = (Index("ix_allowlist_changes_entry", "entry_id", "version"),)

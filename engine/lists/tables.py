"""Tables of the lists area: immutable list snapshots, their entries, and the change report each
import computed against the snapshot before it. Rows are only ever inserted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class ListSnapshotRow(Base):
    __tablename__ = "list_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    date_generated: Mapped[datetime] = mapped_column(nullable=False)
    imported_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    individuals: Mapped[int] = mapped_column(Integer, nullable=False)
    entities: Mapped[int] = mapped_column(Integer, nullable=False)
    regimes: Mapped[dict[str, int]] = mapped_column(JSONType, nullable=False)  # regime -> entries
    tags: Mapped[list[str]] = mapped_column(JSONType, nullable=False)  # element paths the file has
    raw_gz: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # the file, zlib-compressed

    __table_args__ = (Index("ix_list_snapshots_generated", "date_generated"),)


class ListEntryRow(Base):
    __tablename__ = "list_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("list_snapshots.id"), nullable=False)
    dataid: Mapped[str] = mapped_column(String(32), nullable=False)
    reference: Mapped[str] = mapped_column(String(32), nullable=False)
    regime: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)  # ListEntry.to_json()

    __table_args__ = (
        UniqueConstraint("snapshot_id", "dataid", name="uq_list_entries_snapshot_dataid"),
        Index("ix_list_entries_reference", "reference"),
    )


class ListChangeRow(Base):
    """One line of an import's change report (added | removed | amended) against the snapshot
    that preceded it by dateGenerated. Removed rows are what open alerts show as delistings."""

    __tablename__ = "list_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("list_snapshots.id"), nullable=False)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("list_snapshots.id"))
    change: Mapped[str] = mapped_column(String(16), nullable=False)
    dataid: Mapped[str] = mapped_column(String(32), nullable=False)
    reference: Mapped[str] = mapped_column(String(32), nullable=False)
    regime: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False)  # amended element names

    __table_args__ = (
        Index("ix_list_changes_snapshot", "snapshot_id", "change"),
        Index("ix_list_changes_reference", "reference", "change"),
    )


class ListImportRunRow(Base):
    """One attempt of `sanctions lists import` (by hand or on the schedule), successful or not:
    a failed attempt stores no snapshot, so screening keeps the last good one, and /lists shows
    the failure beside the age of the newest snapshot."""

    __tablename__ = "list_import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)  # schedule | cli
    source: Mapped[str] = mapped_column(Text, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # new snapshot
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_list_import_runs_started", "started_at"),)

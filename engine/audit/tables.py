"""Journal tables (migration 1500_journal, branch journal).

``journal_entries`` is one append-only log over every journaled record (events, decisions,
alerts, review actions, register changes, accounts and API keys, rule packs, list snapshots):
position ``seq`` 0, 1, 2, ... assigned after the fact by the sequencer, each entry chained to the
previous by sha256. ``journal_heads`` are signed Merkle tree heads over the first ``tree_size``
entries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, utcnow


class JournalEntryRow(Base):
    __tablename__ = "journal_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    record_key: Mapped[str] = mapped_column(String(200), nullable=False)
    # the source row's integer key when it has one (the sequencer's anti-join reads it)
    record_no: Mapped[int | None] = mapped_column(BigInteger)
    record_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    sequenced_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "record_key", name="uq_journal_entries_kind_key"),
        Index("ix_journal_entries_kind_no", "kind", "record_no"),
        Index("ix_journal_entries_sequenced_at", "sequenced_at"),
    )


class JournalHeadRow(Base):
    __tablename__ = "journal_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    timestamp: Mapped[str] = mapped_column(String(40), nullable=False)  # as signed (ISO 8601)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256 of the public key
    signature: Mapped[str] = mapped_column(Text, nullable=False)  # Ed25519, hex
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    __table_args__ = (Index("ix_journal_heads_tree_size", "tree_size"),)

"""Journal tables (migration 1500_journal, branch journal).

``journal_entries`` is one append-only log over every journaled record (events, decisions,
alerts, review actions, register changes, accounts and API keys, rule packs, list snapshots):
position ``seq`` 0, 1, 2, ... assigned after the fact by the sequencer, each entry chained to the
previous by sha256. ``journal_heads`` are signed Merkle tree heads over the first ``tree_size``
entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow

# SQLite: INTEGER, so that seq is the table's rowid (64-bit there too) rather than a second
# b-tree beside it: about 3,000 of an entry insert's 38,500 instructions (callgrind; migration
# 1502_journal_passes)
SEQ = BigInteger().with_variant(Integer(), "sqlite")


class JournalEntryRow(Base):
    __tablename__ = "journal_entries"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    record_key: Mapped[str] = mapped_column(String(200), nullable=False)
    # the source row's integer key when it has one (the sequencer's anti-join reads it)
    record_no: Mapped[int | None] = mapped_column(BigInteger)
    record_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # the pass's time, as in journal_passes (not indexed here: the passes' row is)
    sequenced_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    # One unique index a kind's entries are found by: integer keys by record_no, the few text
    # keys (rule pack versions) by record_key where record_no is NULL. A unique (kind,
    # record_key) over every entry beside (kind, record_no) cost the sequencer about 7,100
    # instructions an entry, 5% (callgrind; migration 1503_journal_keys). Look entries up by
    # ``engine.audit.sequencer.entries_of``, which uses the index that holds them.
    __table_args__ = (
        Index("uq_journal_entries_kind_no", "kind", "record_no", unique=True),
        Index(
            "uq_journal_entries_kind_text_key",
            "kind",
            "record_key",
            unique=True,
            sqlite_where=text("record_no IS NULL"),
            postgresql_where=text("record_no IS NULL"),
        ),
    )


class JournalPassRow(Base):
    """One sequencer pass: it appended entries ``first_seq`` to ``last_seq``, all with its
    ``sequenced_at`` (migration 1502_journal_passes). What ``audit verify --from/--to`` finds a
    period's entries by: an index on the entries' own time cost the sequencer about 6,500
    instructions an entry (callgrind), this costs one row a pass. Not signed, as the entries'
    time is not (docs/AUDIT.md, Limits)."""

    __tablename__ = "journal_passes"

    first_seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sequenced_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (Index("ix_journal_passes_sequenced_at", "sequenced_at"),)


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


class JournalFrontierRow(Base):
    """The compact range of the first ``tree_size`` entries (migration 1510_journal_frontiers):
    the roots of the perfect subtrees the tree of that size decomposes into (RFC 9162 2.1.1,
    largest first), written with each head so the next head costs O(log n) hashes plus its new
    leaves instead of a pass over the whole journal. Not trusted blindly: before use its root
    must equal the signed root of the head of that size."""

    __tablename__ = "journal_frontiers"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nodes: Mapped[list[str]] = mapped_column(JSONType, nullable=False)  # hex, largest first
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class AuditJobRow(Base):
    """A period replay or an audit pack export asked for from the web app (migration
    1501_audit_jobs), run in its own process (engine.audit.jobs); the report stays here."""

    __tablename__ = "audit_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # replay | export
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    file: Mapped[str | None] = mapped_column(Text)  # export: the zip under the data dir
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_audit_jobs_requested_at", "requested_at"),)

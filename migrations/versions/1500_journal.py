"""journal: append-only journal entries (sha256-chained) and signed Merkle tree heads

Revision ID: 1500_journal
Revises: 0001
Create Date: 2026-12-02 00:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1500_journal"
down_revision = "0001"
branch_labels = ("journal",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("record_no", sa.BigInteger(), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("sequenced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("kind", "record_key", name="uq_journal_entries_kind_key"),
    )
    op.create_index("ix_journal_entries_kind_no", "journal_entries", ["kind", "record_no"])
    op.create_index("ix_journal_entries_sequenced_at", "journal_entries", ["sequenced_at"])
    op.create_table(
        "journal_heads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_heads")),
    )
    op.create_index("ix_journal_heads_tree_size", "journal_heads", ["tree_size"])


def downgrade() -> None:
    op.drop_index("ix_journal_heads_tree_size", table_name="journal_heads")
    op.drop_table("journal_heads")
    op.drop_index("ix_journal_entries_sequenced_at", table_name="journal_entries")
    op.drop_index("ix_journal_entries_kind_no", table_name="journal_entries")
    op.drop_table("journal_entries")

"""journal passes: the sequencer's passes indexed by time, instead of every entry (issue 15)

An index on journal_entries.sequenced_at made every entry one more b-tree insert; the period a
verify covers is now found from one row per pass. On SQLite, journal_entries is rebuilt with
``seq INTEGER`` so that it is the rowid (no separate primary-key b-tree). Entries and hashes
are unchanged.

Revision ID: 1502_journal_passes
Revises: 1501_audit_jobs
Create Date: 2026-12-03 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1502_journal_passes"
down_revision = "1501_audit_jobs"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal_passes",
        sa.Column("first_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("sequenced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("first_seq", name=op.f("pk_journal_passes")),
    )
    op.create_index("ix_journal_passes_sequenced_at", "journal_passes", ["sequenced_at"])
    # the passes so far: each pass wrote one sequenced_at on all its entries, so a period's
    # lowest and highest seq are the same from these rows as from the entries
    op.execute(
        "INSERT INTO journal_passes (first_seq, last_seq, sequenced_at) "
        "SELECT min(seq), max(seq), sequenced_at FROM journal_entries GROUP BY sequenced_at"
    )
    op.drop_index("ix_journal_entries_sequenced_at", table_name="journal_entries")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal_entries", recreate="always") as batch:
            batch.alter_column(
                "seq", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal_entries", recreate="always") as batch:
            batch.alter_column(
                "seq", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False
            )
    op.create_index("ix_journal_entries_sequenced_at", "journal_entries", ["sequenced_at"])
    op.drop_index("ix_journal_passes_sequenced_at", table_name="journal_passes")
    op.drop_table("journal_passes")

"""journal keys: one unique index a kind's entries are found by, instead of two (issue 15)

journal_entries had a unique (kind, record_key) over every entry beside an index on (kind,
record_no): two b-tree inserts an entry for the same lookup, as integer keys are written in
both. Now integer keys are unique and found by (kind, record_no), and the few text keys (rule
pack versions, record_no NULL) by a partial unique index on (kind, record_key). About 7,100 of
the sequencer's 140,000 instructions an entry (callgrind). Entries and hashes are unchanged. On
SQLite the table is rebuilt (the old constraint is part of its definition).

Revision ID: 1503_journal_keys
Revises: 1502_journal_passes
Create Date: 2026-12-03 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1503_journal_keys"
down_revision = "1502_journal_passes"
branch_labels = None
depends_on = None

TEXT_KEYS = sa.text("record_no IS NULL")


def upgrade() -> None:
    op.drop_index("ix_journal_entries_kind_no", table_name="journal_entries")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal_entries", recreate="always") as batch:
            batch.drop_constraint("uq_journal_entries_kind_key", type_="unique")
    else:
        op.drop_constraint("uq_journal_entries_kind_key", "journal_entries", type_="unique")
    op.create_index(
        "uq_journal_entries_kind_no", "journal_entries", ["kind", "record_no"], unique=True
    )
    op.create_index(
        "uq_journal_entries_kind_text_key",
        "journal_entries",
        ["kind", "record_key"],
        unique=True,
        sqlite_where=TEXT_KEYS,
        postgresql_where=TEXT_KEYS,
    )


def downgrade() -> None:
    op.drop_index("uq_journal_entries_kind_text_key", table_name="journal_entries")
    op.drop_index("uq_journal_entries_kind_no", table_name="journal_entries")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal_entries", recreate="always") as batch:
            batch.create_unique_constraint("uq_journal_entries_kind_key", ["kind", "record_key"])
    else:
        op.create_unique_constraint(
            "uq_journal_entries_kind_key", "journal_entries", ["kind", "record_key"]
        )
    op.create_index("ix_journal_entries_kind_no", "journal_entries", ["kind", "record_no"])

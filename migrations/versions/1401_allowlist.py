"""allowlist: known false positives, their versioned history, the version a decision read

Revision ID: 1401_allowlist
Revises: 0001
Create Date: 2026-12-02 00:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1401_allowlist"
down_revision = "0001"
branch_labels = ("allowlist",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "allowlist_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowlist_head")),
    )
    op.create_table(
        "allowlist_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_reference", sa.String(length=40), nullable=False),
        sa.Column("party_name", sa.String(length=300), nullable=True),
        sa.Column("name_norm", sa.String(length=300), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("identifiers", JSON, nullable=True),
        sa.Column("scope_counterparty", sa.String(length=300), nullable=True),
        sa.Column("scope_source", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowlist_entries")),
    )
    op.create_index("ix_allowlist_entries_ref", "allowlist_entries", ["list_reference"])
    op.create_table(
        "allowlist_changes",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_allowlist_changes")),
    )
    op.create_index("ix_allowlist_changes_entry", "allowlist_changes", ["entry_id", "version"])
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowlist_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("allowlist_notes", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("allowlist_notes")
        batch_op.drop_column("allowlist_version")
    op.drop_table("allowlist_changes")
    op.drop_table("allowlist_entries")
    op.drop_table("allowlist_head")

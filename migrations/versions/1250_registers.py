"""registers: exemption / notification entries, their versioned history, the version head

Revision ID: 1250_registers
Revises: 0001
Create Date: 2026-12-01 19:55:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1250_registers"
down_revision = "0001"
branch_labels = ("registers",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "register_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_head")),
    )
    op.create_table(
        "register_entries",
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("regime", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_register_entries")),
    )
    op.create_index("ix_register_entries_status", "register_entries", ["status"])
    op.create_table(
        "register_changes",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_register_changes")),
    )
    op.create_index("ix_register_changes_ref", "register_changes", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_register_changes_ref", table_name="register_changes")
    op.drop_table("register_changes")
    op.drop_index("ix_register_entries_status", table_name="register_entries")
    op.drop_table("register_entries")
    op.drop_table("register_head")

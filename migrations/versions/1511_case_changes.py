"""case changes: the append-only history of each case, journaled (issue 15)

Revision ID: 1511_case_changes
Revises: 1510_journal_frontiers
Create Date: 2026-12-02 07:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1511_case_changes"
down_revision = "1510_journal_frontiers"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "case_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_changes")),
    )
    op.create_index("ix_case_changes_case", "case_changes", ["case_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_changes_case", table_name="case_changes")
    op.drop_table("case_changes")

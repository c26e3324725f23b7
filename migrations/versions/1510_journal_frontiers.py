"""journal frontiers: the compact range stored with each signed head (incremental tree heads)

Revision ID: 1510_journal_frontiers
Revises: 0001
Create Date: 2026-12-02 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1510_journal_frontiers"
down_revision = "0001"
branch_labels = ("i15",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "journal_frontiers",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nodes", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_journal_frontiers")),
    )


def downgrade() -> None:
    op.drop_table("journal_frontiers")

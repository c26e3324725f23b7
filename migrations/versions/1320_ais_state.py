"""ais derivation state: per-MMSI state of each derivation stream, checkpointed with every batch,
so a restarted AIS worker resumes where the last derived batch left it (issue 13)

Revision ID: 1320_ais_state
Revises: 0001
Create Date: 2026-12-02 06:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1320_ais_state"
down_revision = "0001"
branch_labels = ("i13b",)
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ais_derivation_state",
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=24), nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("batch_id", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", "key", name=op.f("pk_ais_derivation_state")),
    )


def downgrade() -> None:
    op.drop_table("ais_derivation_state")

"""ais batches: raw AIS (NMEA or decoded JSON) as received, before derivation (issue 13)

Revision ID: 1310_ais_batches
Revises: 0001
Create Date: 2026-12-02 00:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1310_ais_batches"
down_revision = "0001"
branch_labels = ("ais",)
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ais_batches",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("derived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", JSONType, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ais_batches")),
    )
    op.create_index("ix_ais_batches_status", "ais_batches", ["status", "received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ais_batches_status", table_name="ais_batches")
    op.drop_table("ais_batches")

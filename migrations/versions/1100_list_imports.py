"""list imports: one row per attempt of `sanctions lists import` (scheduled or by hand)

Revision ID: 1100_list_imports
Revises: 0001
Create Date: 2026-12-01 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1100_list_imports"
down_revision = "0001"
branch_labels = ("list_imports",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_import_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_import_runs")),
    )
    op.create_index("ix_list_import_runs_started", "list_import_runs", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_list_import_runs_started", table_name="list_import_runs")
    op.drop_table("list_import_runs")

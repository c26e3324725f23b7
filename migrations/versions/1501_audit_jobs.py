"""audit jobs: period replays and audit pack exports asked for from the web app

Revision ID: 1501_audit_jobs
Revises: 1500_journal
Create Date: 2026-12-02 00:45:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1501_audit_jobs"
down_revision = "1500_journal"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("report", JSON, nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_jobs")),
    )
    op.create_index("ix_audit_jobs_requested_at", "audit_jobs", ["requested_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_jobs_requested_at", table_name="audit_jobs")
    op.drop_table("audit_jobs")

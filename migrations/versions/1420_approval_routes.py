"""approval routing: who decides each four-eyes request, seniors marked away

Revision ID: 1420_approval_routes
Revises: 0001
Create Date: 2026-12-02 06:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1420_approval_routes"
down_revision = "0001"
branch_labels = ("i14b",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_routes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("routed_to", sa.String(length=100), nullable=True),
        sa.Column("pooled_at", TS, nullable=True),
        sa.Column("pooled_why", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_routes")),
    )
    op.create_index("ix_approval_routes_ref", "approval_routes", ["kind", "ref_id"])
    op.create_index("ix_approval_routes_open", "approval_routes", ["decided_at", "routed_to"])
    op.create_table(
        "senior_away",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_senior_away")),
    )


def downgrade() -> None:
    op.drop_table("senior_away")
    op.drop_table("approval_routes")

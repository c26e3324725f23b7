"""registers: the register version a decision read, and what the register said

Revision ID: 1251_decision_registers
Revises: 1250_registers
Create Date: 2026-12-01 20:05:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1251_decision_registers"
down_revision = "1250_registers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("register_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "register_notes",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("register_notes")
        batch_op.drop_column("register_version")

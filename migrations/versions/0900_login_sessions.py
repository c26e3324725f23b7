"""login_sessions: server-side sessions (logout, disabling, role and password change end them)

Revision ID: 0900_login_sessions
Revises: 0001 (depends on 0100_desk: the users table)
"""

import sqlalchemy as sa
from alembic import op

revision = "0900_login_sessions"
down_revision = "0001"
branch_labels = ("sessions",)
depends_on = ("0100_desk",)


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_login_sessions")),
    )
    op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_sessions_user_id", table_name="login_sessions")
    op.drop_table("login_sessions")

"""cases: cases, the alerts and events they hold, their keys

Revision ID: 1400_cases
Revises: 0001
Create Date: 2026-12-02 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1400_cases"
down_revision = "0001"
branch_labels = ("cases",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_occurred_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("split_from", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["duplicate_of"], ["cases.id"], name=op.f("fk_cases_duplicate_of_cases")),
        sa.ForeignKeyConstraint(["merged_into"], ["cases.id"], name=op.f("fk_cases_merged_into_cases")),
        sa.ForeignKeyConstraint(["split_from"], ["cases.id"], name=op.f("fk_cases_split_from_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("ix_cases_status_severity", "cases", ["status", "severity"])
    op.create_index("ix_cases_opened", "cases", ["opened_at"])
    op.create_table(
        "case_alerts",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_case_alerts_alert_id_alerts")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_alerts_case_id_cases")),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_case_alerts")),
    )
    op.create_index("ix_case_alerts_case", "case_alerts", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_by", sa.String(length=300), nullable=True),
        sa.Column("linked_at", TS, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.ForeignKeyConstraint(["event_id"], ["events.event_id"], name=op.f("fk_case_events_event_id_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "event_id", name="uq_case_events_case_event"),
    )
    op.create_index("ix_case_events_event", "case_events", ["event_id"])
    op.create_table(
        "case_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_keys_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_keys")),
        sa.UniqueConstraint("case_id", "key", name="uq_case_keys_case_key"),
    )
    op.create_index("ix_case_keys_key", "case_keys", ["key"])


def downgrade() -> None:
    op.drop_table("case_keys")
    op.drop_table("case_events")
    op.drop_table("case_alerts")
    op.drop_table("cases")

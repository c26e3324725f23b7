"""snoozes: withheld repeats of an alert with the same facts, versioned; what a decision withheld

Revision ID: 1430_snoozes
Revises: 0001
Create Date: 2026-12-02 06:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1430_snoozes"
down_revision = "0001"
branch_labels = ("i14c",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "snooze_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snooze_head")),
    )
    op.create_table(
        "snoozes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_key", sa.String(length=300), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_snoozes_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snoozes")),
    )
    op.create_index("ix_snoozes_rule_status", "snoozes", ["rule_id", "status"])
    op.create_table(
        "snooze_changes",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("snooze_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_snooze_changes")),
    )
    op.create_index("ix_snooze_changes_snooze", "snooze_changes", ["snooze_id", "version"])
    op.create_table(
        "snooze_occurrences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("snooze_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.event_id"], name=op.f("fk_snooze_occurrences_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_snooze_occurrences_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snooze_occurrences")),
        sa.UniqueConstraint("snooze_id", "event_id", "rule_id", name="uq_snooze_occurrences"),
    )
    op.create_index("ix_snooze_occurrences_event", "snooze_occurrences", ["event_id"])
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snooze_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("snoozed", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("snoozed")
        batch_op.drop_column("snooze_version")
    op.drop_table("snooze_occurrences")
    op.drop_table("snooze_changes")
    op.drop_table("snoozes")
    op.drop_table("snooze_head")

"""notifications: webhook endpoints, the notification outbox, deliveries and their attempts,
e-mail routing, SLA breaches found (issue 14)

Revision ID: 1410_notifications
Revises: 0001
Create Date: 2026-12-02 06:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1410_notifications"
down_revision = "0001"
branch_labels = ("i14a",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("fanned_out_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("uid", name=op.f("uq_notifications_uid")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index("ix_notifications_fanned", "notifications", ["fanned_out_at", "id"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=40), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("recipients", JSON, nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_limit", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_notification_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("uid", name=op.f("uq_notification_deliveries_uid")),
        sa.UniqueConstraint("notification_id", "target", name="uq_notification_deliveries_target"),
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_deliveries_endpoint", "notification_deliveries", ["endpoint_id", "id"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=120), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_attempts_delivery_id_notification_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        "ix_notification_attempts_delivery", "notification_attempts", ["delivery_id", "attempt"]
    )
    op.create_table(
        "notify_email_routes",
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_type", name=op.f("pk_notify_email_routes")),
    )
    op.create_table(
        "notify_addresses",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_notify_addresses")),
    )
    op.create_table(
        "case_sla_breaches",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_sla_breaches")),
    )


def downgrade() -> None:
    op.drop_table("case_sla_breaches")
    op.drop_table("notify_addresses")
    op.drop_table("notify_email_routes")
    op.drop_table("notification_attempts")
    op.drop_table("notification_deliveries")
    op.drop_table("notifications")
    op.drop_table("webhook_endpoints")

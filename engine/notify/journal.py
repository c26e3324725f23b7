"""The audit journal's records of notifications (issue 15's JournalSource hook): each webhook
endpoint by its immutable columns (like accounts: what it is and who created it; its changes are
journaled as the review_actions rows engine.notify.endpoints writes), and each notification of
the outbox (what was told, when), so a receiver's claim "we were never told" can be checked."""

from __future__ import annotations

import typing

from sqlalchemy import Table

from engine.audit.records import JournalSource, register
from engine.notify.tables import NotificationRow, WebhookEndpointRow

register(
    JournalSource(
        "webhook_endpoints",
        typing.cast(Table, WebhookEndpointRow.__table__),
        "id",
        ("id", "created_by", "created_at"),
    )
)
register(
    JournalSource(
        "notifications",
        typing.cast(Table, NotificationRow.__table__),
        "id",
        ("id", "uid", "event_type", "dedupe_key", "data", "created_at"),
    )
)

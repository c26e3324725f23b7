"""Replay requests and their outcomes (auditors ask from the web app; a worker task runs them).

A row is written when someone asks for a replay (status ``queued``) and completed by the task
(``done`` or ``failed``). Rows are never deleted; a replay changes no decision and no alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage import tables as _core  # noqa: F401 - registers `events` and `alerts`, our FK targets
from engine.storage.base import Base, JSONType, utcnow

REPLAY_STATES = ("queued", "running", "done", "failed")


class ReplayRow(Base):
    __tablename__ = "replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("events.event_id"), nullable=False
    )
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id")
    )  # the page it was asked from
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # outcome (status done)
    original: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the stored Decision
    replayed: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the Decision of the replay
    identical: Mapped[bool | None] = mapped_column(Boolean)
    diff: Mapped[list[str] | None] = mapped_column(JSONType)
    rule_pack_version: Mapped[str | None] = mapped_column(String(64))  # pack the replay ran
    list_version: Mapped[str | None] = mapped_column(
        String(64)
    )  # list snapshot the replay screened against
    error: Mapped[str | None] = mapped_column(Text)  # status failed: why

    __table_args__ = (
        Index("ix_replays_requested_at", "requested_at"),
        Index("ix_replays_event_id", "event_id"),
    )

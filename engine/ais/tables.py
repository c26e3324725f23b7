"""Table of the AIS area: every raw AIS batch as received, stored before anything is queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class AisBatchRow(Base):
    __tablename__ = "ais_batches"

    # "aisb-" + sha256 of (format, body): the same batch sent twice is stored once
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # cli | queue | http
    format: Mapped[str] = mapped_column(String(8), nullable=False)  # nmea | json
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    first_line: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    line_count: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the lines as received
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    derived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # counts (reports, problems, skipped, events) and the first findings, once derived
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)

    __table_args__ = (Index("ix_ais_batches_status", "status", "received_at"),)


class AisStateRow(Base):
    """Derivation state of one stream (a partition queue), written with the batch that changed it
    (engine.ais.checkpoint). ``key``: ``m<mmsi>`` a vessel, ``i<imo>`` the MMSI last heard with
    an IMO, ``stream`` the stream's clock and pending fragments."""

    __tablename__ = "ais_derivation_state"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    batch_id: Mapped[str] = mapped_column(String(80), nullable=False)  # the batch that wrote it
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

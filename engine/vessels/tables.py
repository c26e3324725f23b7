"""The ``vessel_sightings`` index (migration 1300_vessel_sightings, branch i13a).

Derived data, never a source of truth: one row per vessel an event names (engine.vessels.profile
``sightings_of``: the shipment's vessel, a movement's vessel and its STS counterpart), written in
the transaction that stores the event (engine.storage.repository.store_events) and rebuildable
from the events table at any time (engine.vessels.index.reindex, ``sanctions vessels reindex``).
The history look-ups find a vessel's sightings on (imo, occurred_at) / (mmsi, occurred_at)
instead of scanning and parsing the look-back window's events.
``detail`` holds the sighting whole (what the history tests read); the other columns (identity,
port, counterpart) are for reading the index directly (ad-hoc queries, a future vessel search);
they are cut to their column width, ``detail`` and the event keep them whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType

TEXT = 300  # width of the name / owner / operator / manager columns (Vessel allows 300)


class VesselSightingRow(Base):
    __tablename__ = "vessel_sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("events.event_id"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)  # order in sightings_of(event)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # vessel | counterpart
    # shipment | port_call | ship_to_ship | ais_gap | flag_change | name_change | identity_change
    # | movement
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    imo: Mapped[str | None] = mapped_column(String(16))
    mmsi: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)  # the event's, UTC
    received_at: Mapped[datetime] = mapped_column(nullable=False)  # the event row's, UTC
    name: Mapped[str | None] = mapped_column(String(TEXT))
    flag: Mapped[str | None] = mapped_column(String(8))
    call_sign: Mapped[str | None] = mapped_column(String(32))
    owner: Mapped[str | None] = mapped_column(String(TEXT))
    operator: Mapped[str | None] = mapped_column(String(TEXT))
    manager: Mapped[str | None] = mapped_column(String(TEXT))
    port_locode: Mapped[str | None] = mapped_column(String(16))
    port_country: Mapped[str | None] = mapped_column(String(8))
    other_imo: Mapped[str | None] = mapped_column(String(16))  # the STS counterpart (or vessel)
    other_mmsi: Mapped[str | None] = mapped_column(String(16))
    other_name: Mapped[str | None] = mapped_column(String(TEXT))
    other_flag: Mapped[str | None] = mapped_column(String(8))
    # the whole sighting as the event states it (engine.vessels.index.detail_of): the history
    # look-ups rebuild it from here instead of parsing and validating every earlier event
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)

    __table_args__ = (
        UniqueConstraint("event_id", "seq", name="uq_vessel_sightings_event_seq"),
        Index("ix_vessel_sightings_imo_occurred", "imo", "occurred_at"),
        Index("ix_vessel_sightings_mmsi_occurred", "mmsi", "occurred_at"),
    )

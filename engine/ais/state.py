"""Per-MMSI derivation state, small and bounded.

One slotted ``VesselState`` per MMSI (~0.3 KB with its table entry), kept in an ``OrderedDict``
in last-heard order: an update moves the vessel to the end, and beyond ``max_vessels`` the vessel
heard least recently is dropped (its open port visit and encounters are closed first), so memory
stays bounded however many MMSIs a feed carries. Open port visits and encounters keep at most
``provenance_refs`` raw-message references each.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from engine.ais.ports import PortArea


@dataclass(slots=True)
class Encounter:
    """Two slow vessels close together, away from port: open until they part or go silent."""

    a: int  # the lower MMSI
    b: int
    start_ts: float
    last_ts: float
    lat: float
    lon: float
    min_distance_m: float
    n: int = 1
    refs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PortVisit:
    area: PortArea
    enter_ts: float
    last_ts: float
    slow: bool = False
    n: int = 1
    refs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VesselState:
    last_ts: float | None = None
    lat: float = 0.0
    lon: float = 0.0
    sog: float | None = None
    ref: str = ""
    port_id: str | None = None  # port area of the last position (None: at sea)
    visit: PortVisit | None = None
    sts_cell: int | None = (
        None  # fine H3 cell (integer form) while indexed as slow and away from port
    )
    partners: dict[int, Encounter] | None = None
    name: str | None = None
    imo: str | None = None
    call_sign: str | None = None


class VesselTable:
    def __init__(self, max_vessels: int) -> None:
        self.max_vessels = max_vessels
        self.by_mmsi: OrderedDict[int, VesselState] = OrderedDict()
        # MMSIs whose state changed since the last checkpoint (engine.ais.checkpoint)
        self.dirty: set[int] = set()

    def __len__(self) -> int:
        return len(self.by_mmsi)

    def get(self, mmsi: int) -> VesselState | None:
        return self.by_mmsi.get(mmsi)

    def touch(self, mmsi: int) -> VesselState:
        st = self.by_mmsi.get(mmsi)
        if st is None:
            st = self.by_mmsi[mmsi] = VesselState()
        else:
            self.by_mmsi.move_to_end(mmsi)
        self.dirty.add(mmsi)
        return st

    def over(self) -> list[tuple[int, VesselState]]:
        """Vessels to drop (least recently heard first) to get back within the bound."""
        out = []
        while len(self.by_mmsi) > self.max_vessels:
            mmsi, st = self.by_mmsi.popitem(last=False)
            self.dirty.add(mmsi)  # its checkpoint row is deleted
            out.append((mmsi, st))
        return out

    def items(self) -> list[tuple[int, VesselState]]:
        return list(self.by_mmsi.items())

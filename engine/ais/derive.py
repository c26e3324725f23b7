"""Derivation: AIS reports (in time order per vessel) -> port calls, STS encounters, AIS gaps and
identity changes. Pure and in-memory: ``Deriver.feed`` returns ``Derived`` behaviours; ``emit``
turns them into v1 events. Thresholds from ``AisSettings`` (documented defaults and sources).

- Port call: positions inside a port geofence (``ports``) for at least ``port_min_dwell_s``, slower
  than ``port_max_speed_kn`` at least once; emitted when the vessel leaves (or falls silent for
  ``gap_min_s``, or the input ends: then ``ended_at`` is open).
- STS encounter: two vessels both slower than ``sts_max_speed_kn``, within ``sts_distance_m``
  (H3 res-9 cells to find neighbours, great-circle distance to decide), at least
  ``sts_min_port_distance_m`` from any port, for at least ``sts_min_duration_s``; emitted when they
  part (or fall silent, or the input ends). Each report of either vessel must be at most
  ``STS_REPORT_AGE_S`` newer than the other's last report for the encounter to continue.
- AIS gap: no report for ``gap_min_s``; silence with both ends inside the same port is ordinary
  (berths, receivers) and not a gap.
- Identity: a changed name (message 5 / 24) is a ``name_change``; a changed IMO or call sign an
  ``identity_change``; the same IMO under an MMSI of another MID (flag) a ``flag_change``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import h3
from h3.api import basic_int as h3i

from engine.ais.mid import flag_of
from engine.ais.ports import PortArea, PortIndex, default_index
from engine.ais.records import PositionReport, Report, StaticReport
from engine.ais.settings import AisSettings, get_ais_settings
from engine.ais.state import Encounter, PortVisit, VesselState, VesselTable

STS_RES = 9  # H3 cells of ~0.1 km2 (edge ~200 m): neighbours within 500 m are 2 rings away
STS_REPORT_AGE_S = 30 * 60
# Expiry (vessels silent for gap_min_s) runs at most once per this much of the stream's clock:
# a scan of every open visit and encounter per batch cost more than deriving the batch.
EXPIRE_EVERY_S = 600.0


@lru_cache(maxsize=65_536)
def _neighbourhood(cell: int, ring: int) -> tuple[int, ...]:
    """The cells within ``ring`` of an STS cell (loitering vessels ask for the same ones)."""
    return tuple(h3i.grid_disk(cell, ring))


@dataclass(slots=True)
class Identity:
    mmsi: int
    name: str | None
    imo: str | None
    call_sign: str | None
    flag: str | None


@dataclass(slots=True)
class Derived:
    kind: str  # port_call | ship_to_ship | ais_gap | name_change | identity_change | flag_change
    method: str
    vessel: Identity
    started_at: float
    ended_at: float | None
    refs: list[str]
    message_count: int
    position: tuple[float, float] | None = None
    end_position: tuple[float, float] | None = None
    port: PortArea | None = None
    counterpart: Identity | None = None
    previous: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


def _identity(mmsi: int, st: VesselState | None) -> Identity:
    if st is None:
        return Identity(mmsi, None, None, None, flag_of(mmsi))
    return Identity(mmsi, st.name, st.imo, st.call_sign, flag_of(mmsi))


def _distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(h3.great_circle_distance((lat1, lon1), (lat2, lon2), unit="m"))


class Deriver:
    def __init__(self, settings: AisSettings | None = None, ports: PortIndex | None = None) -> None:
        self.s = settings or get_ais_settings()
        self.ports = ports or default_index()
        self.vessels = VesselTable(self.s.max_vessels)
        self._by_mmsi = self.vessels.by_mmsi
        self._slow: dict[int, set[int]] = {}  # STS_RES cell -> slow vessels away from port
        # IMO -> (last MMSI heard with it, imo_clock then), least recently heard first
        self._by_imo: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self.imo_clock = 0
        self.dirty_imos: set[str] = set()  # changed since the last checkpoint (or dropped)
        self._out: list[Derived] = []
        # what is open, so expiry scans only these (not every vessel ever heard)
        self._visiting: dict[int, None] = {}
        self._encounters: dict[tuple[int, int], Encounter] = {}
        self.high_ts = 0.0  # latest report time seen (the stream's clock)
        self.out_of_order = 0
        self._ring = (
            2
            if self.s.sts_distance_m <= 2 * h3.average_hexagon_edge_length(STS_RES, unit="m") * 1.5
            else 4
        )
        self._cap = self.s.provenance_refs
        self._port_speed = self.s.port_max_speed_kn
        self._sts_speed = self.s.sts_max_speed_kn
        self.next_expiry = 0.0  # the stream time from which expire() scans again

    # -- restoring a checkpoint (engine.ais.checkpoint) ----------------------------------------

    def imo_entry(self, imo: str) -> tuple[int, int] | None:
        return self._by_imo.get(imo)

    def restore_imos(self, entries: OrderedDict[str, tuple[int, int]]) -> None:
        self._by_imo = entries

    def restore_visit(self, mmsi: int) -> None:
        self._visiting[mmsi] = None

    def restore_slow(self, mmsi: int, cell: int) -> None:
        self._slow.setdefault(cell, set()).add(mmsi)

    def restore_encounter(self, enc: Encounter) -> None:
        """An open encounter (a < b), joined to both vessels' partners."""
        sa, sb = self.vessels.get(enc.a), self.vessels.get(enc.b)
        if sa is None or sb is None:
            return
        if sa.partners is None:
            sa.partners = {}
        if sb.partners is None:
            sb.partners = {}
        sa.partners[enc.b] = enc
        sb.partners[enc.a] = enc
        self._encounters[(enc.a, enc.b)] = enc

    # -- input -----------------------------------------------------------------------------

    def feed(self, reports: Iterable[Report]) -> list[Derived]:
        for r in reports:
            if type(r) is PositionReport:
                self._position(r)
            else:
                self._static(r)  # type: ignore[arg-type]
        for mmsi, st in self.vessels.over():
            self._close_all(mmsi, st, open_end=False)
        out, self._out = self._out, []
        return out

    def expire(self) -> list[Derived]:
        """Close what vessels silent for ``gap_min_s`` (by the stream's clock) left open; scans
        at most once per ``EXPIRE_EVERY_S`` of stream time."""
        if self.high_ts < self.next_expiry:
            out, self._out = self._out, []
            return out
        self.next_expiry = self.high_ts + EXPIRE_EVERY_S
        cutoff = self.high_ts - self.s.gap_min_s
        for enc in [e for e in self._encounters.values() if e.last_ts < cutoff]:
            self._close_encounter(enc)
        for mmsi in list(self._visiting):
            st = self.vessels.get(mmsi)
            if st is None or st.last_ts is None or st.last_ts < cutoff:
                if st is not None:
                    self._close_visit(mmsi, st, open_end=False)
                self._visiting.pop(mmsi, None)
        out, self._out = self._out, []
        return out

    def flush(self) -> list[Derived]:
        """End of input: close everything (a port visit still open gets no ``ended_at``)."""
        for mmsi, st in self.vessels.items():
            self._close_all(mmsi, st, open_end=True)
        out, self._out = self._out, []
        return out

    # -- positions ---------------------------------------------------------------------------

    def _position(self, p: PositionReport) -> None:
        mmsi, ts = p.mmsi, p.ts
        st = self._by_mmsi.get(mmsi)  # VesselTable.touch, inlined on the hot path
        if st is None:
            st = self._by_mmsi[mmsi] = VesselState()
        else:
            self._by_mmsi.move_to_end(mmsi)
        self.vessels.dirty.add(mmsi)
        last = st.last_ts
        if last is not None and ts <= last:
            if ts < last:
                self.out_of_order += 1
            return
        if ts > self.high_ts:
            self.high_ts = ts
        area, near = self.ports.locate(p.lat, p.lon)
        area_id = area.id if area is not None else None
        if last is not None and ts - last >= self.s.gap_min_s:
            if not (area_id is not None and area_id == st.port_id):
                self._gap(p, st)
            self._close_encounters(mmsi, st)
            if st.visit is not None and st.port_id != area_id:
                self._close_visit(mmsi, st, open_end=False)
        visit = st.visit
        if area_id != st.port_id:
            if visit is not None:
                self._close_visit(mmsi, st, open_end=False)
            if area is not None:
                visit = st.visit = PortVisit(area, ts, ts, refs=[p.ref])
                self._visiting[mmsi] = None
            else:
                visit = None
        elif visit is not None:
            visit.last_ts = ts
            visit.n += 1
            if len(visit.refs) < self._cap:
                visit.refs.append(p.ref)
        sog = p.sog
        if visit is not None and sog is not None and sog <= self._port_speed:
            visit.slow = True
        st.port_id = area_id
        st.last_ts, st.lat, st.lon, st.sog, st.ref = ts, p.lat, p.lon, sog, p.ref
        if sog is not None and sog <= self._sts_speed and not near:
            self._proximity(p, st)
        elif st.sts_cell is not None or st.partners:
            self._unindex(mmsi, st)
            self._close_encounters(mmsi, st)

    def _gap(self, p: PositionReport, st: VesselState) -> None:
        assert st.last_ts is not None
        self._out.append(
            Derived(
                "ais_gap",
                "ais:silence",
                _identity(p.mmsi, st),
                st.last_ts,
                p.ts,
                [st.ref, p.ref],
                2,
                position=(st.lat, st.lon),
                end_position=(p.lat, p.lon),
                detail={"gap_hours": round((p.ts - st.last_ts) / 3600.0, 2)},
            )
        )

    def _close_visit(self, mmsi: int, st: VesselState, open_end: bool) -> None:
        v, st.visit = st.visit, None
        self.vessels.dirty.add(mmsi)
        self._visiting.pop(mmsi, None)
        if v is None or not v.slow or v.last_ts - v.enter_ts < self.s.port_min_dwell_s:
            return
        self._out.append(
            Derived(
                "port_call",
                "ais:port_geofence",
                _identity(mmsi, st),
                v.enter_ts,
                None if open_end else v.last_ts,
                v.refs,
                v.n,
                port=v.area,
                detail={"dwell_hours": round((v.last_ts - v.enter_ts) / 3600.0, 2)},
            )
        )

    # -- ship-to-ship ------------------------------------------------------------------------

    def _unindex(self, mmsi: int, st: VesselState) -> None:
        if st.sts_cell is not None:
            members = self._slow.get(st.sts_cell)
            if members is not None:
                members.discard(mmsi)
                if not members:
                    del self._slow[st.sts_cell]
            st.sts_cell = None

    def _proximity(self, p: PositionReport, st: VesselState) -> None:
        cell = h3i.latlng_to_cell(p.lat, p.lon, STS_RES)
        if cell != st.sts_cell:
            self._unindex(p.mmsi, st)
            self._slow.setdefault(cell, set()).add(p.mmsi)
            st.sts_cell = cell
        limit, fresh = self.s.sts_distance_m, p.ts - STS_REPORT_AGE_S
        if st.partners:
            for other, enc in list(st.partners.items()):
                o = self.vessels.get(other)
                if o is None or o.last_ts is None or o.last_ts < fresh or o.sts_cell is None:
                    self._close_encounter(enc)
                    continue
                d = _distance(p.lat, p.lon, o.lat, o.lon)
                if d > limit:
                    self._close_encounter(enc)
                    continue
                enc.last_ts = p.ts
                enc.n += 1
                self.vessels.dirty.add(other)  # the encounter is kept with the lower MMSI
                enc.min_distance_m = min(enc.min_distance_m, d)
                if len(enc.refs) < self._cap:
                    enc.refs.append(p.ref)
        for c in _neighbourhood(cell, self._ring):
            members = self._slow.get(c)
            if not members:
                continue
            for other in members:
                if other == p.mmsi or (st.partners and other in st.partners):
                    continue
                o = self.vessels.get(other)
                if o is None or o.last_ts is None or o.last_ts < fresh:
                    continue
                d = _distance(p.lat, p.lon, o.lat, o.lon)
                if d > limit:
                    continue
                a, b = (p.mmsi, other) if p.mmsi < other else (other, p.mmsi)
                enc = Encounter(a, b, o.last_ts, p.ts, p.lat, p.lon, d, 2, [o.ref, p.ref])
                if st.partners is None:
                    st.partners = {}
                if o.partners is None:
                    o.partners = {}
                st.partners[other] = enc
                o.partners[p.mmsi] = enc
                self.vessels.dirty.add(other)
                self._encounters[(a, b)] = enc

    def _close_encounters(self, mmsi: int, st: VesselState) -> None:
        if st.partners:
            for enc in list(st.partners.values()):
                self._close_encounter(enc)

    def _close_encounter(self, enc: Encounter) -> None:
        if self._encounters.pop((enc.a, enc.b), None) is None:
            return  # closed already
        self.vessels.dirty.update((enc.a, enc.b))
        for x, y in ((enc.a, enc.b), (enc.b, enc.a)):
            sx = self.vessels.get(x)
            if sx is not None and sx.partners:
                sx.partners.pop(y, None)
        if enc.last_ts - enc.start_ts < self.s.sts_min_duration_s:
            return
        self._out.append(
            Derived(
                "ship_to_ship",
                "ais:sts_proximity",
                _identity(enc.a, self.vessels.get(enc.a)),
                enc.start_ts,
                enc.last_ts,
                enc.refs,
                enc.n,
                position=(enc.lat, enc.lon),
                counterpart=_identity(enc.b, self.vessels.get(enc.b)),
                detail={
                    "min_distance_m": round(enc.min_distance_m, 1),
                    "duration_hours": round((enc.last_ts - enc.start_ts) / 3600.0, 2),
                },
            )
        )

    def _close_all(self, mmsi: int, st: VesselState, open_end: bool) -> None:
        self._close_encounters(mmsi, st)
        self._unindex(mmsi, st)
        if st.visit is not None:
            self._close_visit(mmsi, st, open_end=open_end)

    # -- static data -------------------------------------------------------------------------

    def _static(self, s: StaticReport) -> None:
        st = self.vessels.touch(s.mmsi)
        if s.ts > self.high_ts:
            self.high_ts = s.ts
        previous: dict[str, str] = {}
        for attr in ("name", "imo", "call_sign"):
            new = getattr(s, attr)
            old = getattr(st, attr)
            if new is None:
                continue
            if old is not None and old != new:
                previous[attr] = old
            setattr(st, attr, new)
        if s.imo:
            self._imo_seen(s, st)
        if not previous:
            return
        kind = "name_change" if "name" in previous else "identity_change"
        self._static_change(kind, s, st, previous)

    def _static_change(
        self, kind: str, s: StaticReport, st: VesselState, previous: dict[str, str]
    ) -> None:
        """A name, identity or flag change seen in one static report (``previous``: the old values)."""
        self._out.append(
            Derived(
                kind,
                "ais:static_data",
                _identity(s.mmsi, st),
                s.ts,
                None,
                [s.ref],
                1,
                position=(st.lat, st.lon) if st.last_ts is not None else None,
                previous=previous,
            )
        )

    def _imo_seen(self, s: StaticReport, st: VesselState) -> None:
        assert s.imo is not None
        old = self._by_imo.get(s.imo)
        old_mmsi = old[0] if old is not None else None
        self.imo_clock += 1
        self._by_imo[s.imo] = (s.mmsi, self.imo_clock)
        self._by_imo.move_to_end(s.imo)
        self.dirty_imos.add(s.imo)
        while len(self._by_imo) > self.s.max_vessels:
            self.dirty_imos.add(self._by_imo.popitem(last=False)[0])
        if old_mmsi is None or old_mmsi == s.mmsi:
            return
        old_flag, new_flag = flag_of(old_mmsi), flag_of(s.mmsi)
        old_state = self.vessels.get(old_mmsi)
        previous = {"mmsi": str(old_mmsi)}
        if old_state is not None and old_state.name and old_state.name != st.name:
            previous["name"] = old_state.name
        kind = "identity_change"
        if old_flag and new_flag and old_flag != new_flag:
            kind, previous["flag"] = "flag_change", old_flag
        self._static_change(kind, s, st, previous)

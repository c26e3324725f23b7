"""The vessel profile: what every stored event says about one vessel, in time order.

A vessel is keyed by IMO, else by MMSI (``vessel_key``). Every shipment and vessel_movement event
that names it (as the vessel, or as the counterpart of a ship-to-ship transfer) is a ``Sighting``;
the profile folds them into identities over time (IMO, MMSI, name, flag, call sign, owner,
operator, manager), port calls, STS encounters and AIS gaps, and adds the flagged decisions and
open alerts of those events. The history conditions (engine.vessels.history) read the same
sightings; the web's vessel page shows ``load_profile``. Nothing here evaluates rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.models.events import Event, Place, Position, Vessel

IDENTITY_FIELDS = ("imo", "mmsi", "name", "flag", "call_sign", "owner", "operator", "manager")
PROFILE_LIMIT = 2000  # events read for one vessel page (newest first): bounded memory and time


def vessel_key(v: Vessel | None) -> str | None:
    """``IMO9876543`` when the IMO is known, else ``MMSI123456789``, else None (a name alone does
    not identify a vessel)."""
    if v is None:
        return None
    if v.imo:
        return "IMO" + v.imo
    if v.mmsi:
        return "MMSI" + v.mmsi
    return None


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class Sighting:
    """One event naming the vessel: as ``vessel`` or as ``counterpart`` of an STS encounter."""

    event_id: str
    occurred_at: datetime
    role: str  # vessel | counterpart
    kind: (
        str  # shipment | port_call | ship_to_ship | ais_gap | flag_change | name_change | movement
    )
    vessel: Vessel
    path: str  # where the vessel is in the event, e.g. vessel_movement.vessel
    other: Vessel | None = None  # the other vessel of an STS encounter
    port: Place | None = None
    position: Position | None = None
    end_position: Position | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cargo_operation: str | None = None  # as the event states it, for ``vessel``
    cargo: tuple[str, ...] = ()  # HS codes / descriptions of the cargo named
    previous: dict[str, Any] = field(default_factory=dict)  # a flag/name change's earlier identity

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)

    @property
    def received_from_other(self) -> bool:
        """In an STS encounter, did this vessel take cargo from the other one? ``load`` by the
        vessel, or ``discharge`` by the other (this vessel as counterpart); ``transfer`` or no
        operation stated: possibly (the direction is unknown, read as taken)."""
        if self.kind != "ship_to_ship":
            return False
        op = self.cargo_operation
        if self.role == "vessel":
            return op in (None, "load", "transfer")
        return op in (None, "discharge", "transfer")


def _cargo_text(goods: Iterable[Any]) -> tuple[str, ...]:
    return tuple(g.hs_code or g.description or "?" for g in goods)


def sightings_of(event: Event) -> list[Sighting]:
    """The vessels an event names, each as a sighting (none for entity events)."""
    at = _utc(event.occurred_at)
    out: list[Sighting] = []
    s, m = event.shipment, event.vessel_movement
    if s is not None and s.vessel is not None:
        out.append(
            Sighting(
                event.event_id,
                at,
                "vessel",
                "shipment",
                s.vessel,
                "shipment.vessel",
                port=s.destination,
                cargo=_cargo_text(s.goods),
            )
        )
    if m is not None:
        kind = m.kind or "movement"
        prev = m.previous.model_dump(exclude_none=True) if m.previous is not None else {}
        common: dict[str, Any] = {
            "port": m.port,
            "position": m.position,
            "end_position": m.end_position,
            "started_at": _utc(m.started_at) if m.started_at else None,
            "ended_at": _utc(m.ended_at) if m.ended_at else None,
            "cargo_operation": m.cargo_operation,
            "cargo": _cargo_text(m.cargo),
        }
        if m.vessel is not None:
            out.append(
                Sighting(
                    event.event_id,
                    at,
                    "vessel",
                    kind,
                    m.vessel,
                    "vessel_movement.vessel",
                    other=m.counterpart_vessel,
                    previous=prev,
                    **common,
                )
            )
        if m.counterpart_vessel is not None:
            out.append(
                Sighting(
                    event.event_id,
                    at,
                    "counterpart",
                    kind,
                    m.counterpart_vessel,
                    "vessel_movement.counterpart_vessel",
                    other=m.vessel,
                    **common,
                )
            )
    return out


class Matcher:
    """Which sightings are of one vessel: the same IMO; or, without an IMO, an MMSI the vessel
    was reported with (with its IMO, or alone when the vessel is keyed by MMSI)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.imo = key[3:] if key.startswith("IMO") else None
        self.mmsis: set[str] = {key[4:]} if key.startswith("MMSI") else set()

    def learn(self, sightings: Iterable[Sighting]) -> None:
        if self.imo is None:
            return
        for s in sightings:
            if s.vessel.imo == self.imo and s.vessel.mmsi:
                self.mmsis.add(s.vessel.mmsi)

    def __call__(self, s: Sighting) -> bool:
        if s.vessel.imo:
            return s.vessel.imo == self.imo
        return bool(s.vessel.mmsi and s.vessel.mmsi in self.mmsis)


def of_vessel(key: str, sightings: Sequence[Sighting]) -> list[Sighting]:
    """The sightings of one vessel, in time order."""
    match = Matcher(key)
    match.learn(sightings)
    return sorted((s for s in sightings if match(s)), key=lambda s: s.order)


# -- the profile ---------------------------------------------------------------------------------


@dataclass
class IdentitySpan:
    """One identity the vessel was reported under, from first to last sighting."""

    values: dict[str, str]  # of IDENTITY_FIELDS, those reported
    first_seen: datetime
    last_seen: datetime
    event_ids: list[str]


@dataclass
class FlaggedEvent:
    event_id: str
    occurred_at: datetime
    regimes: list[str]
    rule_ids: list[str]


@dataclass
class OpenAlert:
    alert_id: int
    event_id: str
    rule_id: str
    severity: str
    status: str


@dataclass
class VesselProfile:
    key: str
    sightings: list[Sighting]
    identities: list[IdentitySpan]
    port_calls: list[Sighting]
    sts: list[Sighting]
    gaps: list[Sighting]
    changes: list[Sighting]  # flag_change / name_change events
    flagged: list[FlaggedEvent]
    open_alerts: list[OpenAlert]

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(i.values["name"] for i in self.identities if "name" in i.values))

    @property
    def flags(self) -> list[str]:
        return list(dict.fromkeys(i.values["flag"] for i in self.identities if "flag" in i.values))


def identity_of(v: Vessel) -> dict[str, str]:
    out = {}
    for f in IDENTITY_FIELDS:
        value = getattr(v, f, None)
        if value:
            out[f] = str(value).strip().upper() if f == "name" else str(value)
    return out


def identities(sightings: Sequence[Sighting]) -> list[IdentitySpan]:
    """Consecutive sightings with the same reported (imo, mmsi, name, flag) form one span; owner,
    operator, manager and call sign are added to the span that reports them."""
    spans: list[IdentitySpan] = []
    for s in sightings:
        ident = identity_of(s.vessel)
        core = {k: ident[k] for k in ("imo", "mmsi", "name", "flag") if k in ident}
        last = spans[-1] if spans else None
        # same identity: a sighting reporting less, or a number not reported before, is no change
        if last is not None and all(last.values.get(k) in (None, v) for k, v in core.items()):
            last.last_seen = s.occurred_at
            last.event_ids.append(s.event_id)
            for k, v in ident.items():
                last.values.setdefault(k, v)
            continue
        spans.append(IdentitySpan(ident, s.occurred_at, s.occurred_at, [s.event_id]))
    return spans


def build_profile(
    key: str,
    sightings: Sequence[Sighting],
    flagged: Sequence[FlaggedEvent] = (),
    open_alerts: Sequence[OpenAlert] = (),
) -> VesselProfile:
    mine = of_vessel(key, sightings)
    ids = {s.event_id for s in mine}
    return VesselProfile(
        key=key,
        sightings=mine,
        identities=identities(mine),
        port_calls=[s for s in mine if s.kind == "port_call"],
        sts=[s for s in mine if s.kind == "ship_to_ship"],
        gaps=[s for s in mine if s.kind == "ais_gap"],
        changes=[s for s in mine if s.kind in ("flag_change", "name_change")],
        flagged=sorted((f for f in flagged if f.event_id in ids), key=lambda f: f.occurred_at),
        open_alerts=[a for a in open_alerts if a.event_id in ids],
    )


def flagged_of(violations: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(regimes, rule ids) of a stored decision's violations that rest on the event itself: a
    violation relying on the vessel's history (evidence under ``history.``) is not counted as
    flagged prior activity, so one finding does not re-flag every later call for ever."""
    regimes: list[str] = []
    rules: list[str] = []
    for v in violations:
        if any(str(e.get("path", "")).startswith("history.") for e in v.get("evidence") or []):
            continue
        regimes.append(str(v.get("regime")))
        rules.append(str(v.get("rule_id")))
    return sorted(set(regimes)), sorted(set(rules))


def load_profile(key: str, limit: int = PROFILE_LIMIT) -> VesselProfile | None:
    """The profile of one vessel from the store (the web's vessel page). Candidate events are
    those whose stored JSON contains the IMO or MMSI digits (newest ``limit`` first), then
    checked field by field; None when no stored event names the vessel."""
    from sqlalchemy import Text, cast, select

    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow, DecisionRow, EventRow

    digits = key[3:] if key.startswith("IMO") else key[4:]
    if not digits.isdigit():
        return None
    t = EventRow.__table__
    with session_scope() as s:
        rows = s.execute(
            select(t.c.event_id, t.c.raw)
            .where(
                t.c.event_type.in_(("shipment", "vessel_movement")),
                cast(t.c.raw, Text).like(f"%{digits}%"),
            )
            .order_by(t.c.occurred_at.desc())
            .limit(limit)
        ).all()
        sightings: list[Sighting] = []
        for _eid, raw in rows:
            try:
                ev = Event.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
            except ValueError:
                continue
            sightings.extend(sightings_of(ev))
        mine = of_vessel(key, sightings)
        if not mine:
            return None
        ids = sorted({x.event_id for x in mine})
        when = {x.event_id: x.occurred_at for x in mine}
        flagged: list[FlaggedEvent] = []
        for d in s.scalars(
            select(DecisionRow).where(
                DecisionRow.event_id.in_(ids), DecisionRow.status == "flagged"
            )
        ):
            regimes, rules = flagged_of(d.violations or [])
            if regimes:
                flagged.append(FlaggedEvent(d.event_id, when[d.event_id], regimes, rules))
        alerts = [
            OpenAlert(a.id, a.event_id, a.rule_id, a.severity, a.status)
            for a in s.scalars(
                select(AlertRow)
                .where(AlertRow.event_id.in_(ids), AlertRow.status != "closed")
                .order_by(AlertRow.id)
            )
        ]
    return build_profile(key, mine, flagged, alerts)

"""History facts for ``vessel_history`` conditions, supplied to BOTH evaluators.

Like the caps ledger (engine/rules/caps.py), the answer is never kept in durable_rules: it is
recomputed from stored events, here the events naming the same vessel (engine.vessels.profile)
that occurred BEFORE this event (ordered by (occurred_at, event_id)) within the test's look-back,
and, for a replay, were received at or before the original decision (``as_of``); flagged prior
activity reads the decisions of those events evaluated before ``as_of`` (strictly: the events of
one batch are decided together, none sees the others' decisions, live or in a replay). The evaluator
writes each answer on the facts (``vh__<test>`` fields) for durable_rules; the oracle asks
``check`` directly; the explanation lists the earlier events the answer relied on.

The tests (rules/README.md §14): flagged_within_days, identity_changed_after_flagged,
identity_conflict, designated_under_other_name, flag_changes_within_days, sts_from, ais_gap_near.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from engine.models.events import Event
from engine.rules.schema import History, Rule
from engine.vessels.areas import nearest
from engine.vessels.profile import (
    FlaggedEvent,
    Sighting,
    flagged_of,
    identity_of,
    of_vessel,
    sightings_of,
    vessel_key,
)

CACHE_LIMIT = 20_000  # (test, event) answers kept; recomputable
DEFAULT_MAX_DAYS = 1830  # look-back read once per event when no rule asks for more


@dataclass(frozen=True)
class HistoryResult:
    holds: bool
    relied_on: tuple[tuple[str, str], ...] = ()  # (earlier event id, what it showed)


NO = HistoryResult(False)


class HistorySource(Protocol):
    def events_naming(
        self, ids: Sequence[str], start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        """Stored shipment / vessel_movement events with start <= occurred_at <= end (received
        at or before ``as_of``) that may name one of these IMO / MMSI numbers (a superset: the
        caller checks the fields)."""
        ...

    def flagged(self, event_ids: Sequence[str], as_of: datetime | None) -> dict[str, list[str]]:
        """event id -> regimes its decision flagged (violations not resting on history)."""
        ...


class MemoryHistory:
    """Earlier events in memory (rule examples, tests, benchmarks) with the regimes their
    decisions flagged."""

    def __init__(
        self,
        events: Iterable[Event] = (),
        flagged: dict[str, list[str]] | None = None,
        received: dict[str, datetime] | None = None,
    ) -> None:
        from engine.rules.caps import MemoryEvents

        self._events = MemoryEvents(events, received)
        self._flagged = dict(flagged or {})

    def add(
        self, event: Event, flagged: Sequence[str] = (), received_at: datetime | None = None
    ) -> None:
        self._events.add(event, received_at)
        if flagged:
            self._flagged[event.event_id] = list(flagged)

    def events_naming(
        self, ids: Sequence[str], start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        return self._events.events_between(start, end, as_of)

    def flagged(self, event_ids: Sequence[str], as_of: datetime | None) -> dict[str, list[str]]:
        return {e: self._flagged[e] for e in event_ids if e in self._flagged}


class StoredHistory:
    """The events and decisions tables. Events are found on the occurred_at index within the
    look-back, narrowed in SQL to rows whose JSON text contains one of the numbers (quoted), at
    most ``ROW_LIMIT`` of them, newest first."""

    ROW_LIMIT = 5000

    def __init__(self) -> None:
        self._parsed: dict[str, Event] = {}

    def events_naming(
        self, ids: Sequence[str], start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        import json

        from sqlalchemy import Text, cast, or_, select, type_coerce

        from engine.rules.caps import PARSED_LIMIT
        from engine.storage.db import get_engine
        from engine.storage.tables import EventRow

        if not ids:
            return []
        t = EventRow.__table__
        q = (
            select(t.c.event_id, type_coerce(t.c.raw, Text))
            .where(
                t.c.event_type.in_(("shipment", "vessel_movement")),
                t.c.occurred_at >= start.astimezone(UTC),
                t.c.occurred_at <= end.astimezone(UTC),
                or_(*(cast(t.c.raw, Text).like(f"%{i}%") for i in ids)),
            )
            .order_by(t.c.occurred_at.desc())
            .limit(self.ROW_LIMIT)
        )
        if as_of is not None:
            q = q.where(t.c.received_at <= as_of.astimezone(UTC))
        with get_engine().connect() as conn:
            rows = conn.execute(q).all()
        out: list[Event] = []
        for event_id, raw in rows:
            ev = self._parsed.get(event_id)
            if ev is None:
                try:
                    ev = Event.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
                except ValueError:
                    continue  # a stored row that no longer validates is no history
                if len(self._parsed) >= PARSED_LIMIT:
                    self._parsed.clear()
                self._parsed[event_id] = ev
            out.append(ev)
        return out

    def flagged(self, event_ids: Sequence[str], as_of: datetime | None) -> dict[str, list[str]]:
        if not event_ids:
            return {}
        import json

        from sqlalchemy import select

        from engine.storage.db import get_engine
        from engine.storage.tables import DecisionRow

        t = DecisionRow.__table__
        q = select(t.c.event_id, t.c.violations).where(
            t.c.event_id.in_(sorted(set(event_ids))), t.c.status == "flagged"
        )
        if as_of is not None:
            # strictly before: decisions of the same batch share its evaluated_at and were not
            # stored yet when the batch was decided
            q = q.where(t.c.evaluated_at < as_of.astimezone(UTC))
        out: dict[str, list[str]] = {}
        with get_engine().connect() as conn:
            for event_id, violations in conn.execute(q):
                if isinstance(violations, str):
                    violations = json.loads(violations)
                regimes, _ = flagged_of(violations or [])
                if regimes:
                    out[event_id] = regimes
        return out


def _days(node: History) -> int:
    return int(node.get("days", 0) or 0)


class VesselHistory:
    """``check(node, event) -> HistoryResult`` over the stored history of the event's vessel."""

    def __init__(
        self,
        source: HistorySource | None = None,
        as_of: datetime | None = None,
        register: Any = None,
        max_days: int = DEFAULT_MAX_DAYS,
    ) -> None:
        self.source: HistorySource = source if source is not None else StoredHistory()
        self.as_of = as_of
        self.register = register  # the pack's designated-vessel register (VesselRegister)
        self.max_days = max_days
        self._cache: dict[tuple[History, str], HistoryResult] = {}
        self._event: Event | None = None  # the event being checked (for the tests that need it)
        self._prior: tuple[str, list[Sighting], list[Sighting]] | None = None

    def replaying(self, as_of: datetime) -> VesselHistory:
        """The same history as it stood at ``as_of`` (a replay of a decision made then)."""
        return VesselHistory(self.source, as_of, self.register, self.max_days)

    def with_register(self, register: Any) -> VesselHistory:
        if register is self.register:
            return self
        return VesselHistory(self.source, self.as_of, register, self.max_days)

    def for_rules(self, rules: Sequence[Rule]) -> VesselHistory:
        """Read as far back as the pack's longest look-back."""
        days = [
            _days(n) for r in rules for n in r.when.nodes() if isinstance(n, History) and _days(n)
        ]
        if days and max(days) != self.max_days:
            self.max_days = max(days)
            self._cache.clear()
            self._prior = None
        return self

    # -- reading ----------------------------------------------------------------------------

    def prior(self, event: Event) -> list[Sighting]:
        """Sightings of the event's vessel before it, within ``max_days`` (time order)."""
        return self._read(event)[0]

    def sharing_numbers(self, event: Event) -> list[Sighting]:
        """Earlier sightings of ANY vessel reported with this event's IMO or MMSI (time order)."""
        return self._read(event)[1]

    def _read(self, event: Event) -> tuple[list[Sighting], list[Sighting]]:
        if self._prior is not None and self._prior[0] == event.event_id:
            return self._prior[1], self._prior[2]
        me = [s for s in sightings_of(event) if s.role == "vessel"]
        key = vessel_key(me[0].vessel) if me else None
        out: list[Sighting] = []
        sharing: list[Sighting] = []
        if key is not None:
            at = event.occurred_at.astimezone(UTC)
            found: list[Sighting] = []
            v = me[0].vessel
            prev = me[0].previous  # an identity_change names the numbers reported before
            ids = [x for x in (v.imo, v.mmsi, prev.get("imo"), prev.get("mmsi")) if x]
            for other in self.source.events_naming(
                ids, at - timedelta(days=self.max_days), at, self.as_of
            ):
                if other.event_id == event.event_id:
                    continue
                o_at = other.occurred_at.astimezone(UTC)
                if (o_at, other.event_id) >= (at, event.event_id):
                    continue  # at the same instant, only events ordered before this one count
                found.extend(sightings_of(other))
            out = of_vessel(key, found + me)
            out = [s for s in out if s.event_id != event.event_id]
            sharing = sorted(
                (s for s in found if s.vessel.imo in ids or s.vessel.mmsi in ids),
                key=lambda s: s.order,
            )
        self._prior = (event.event_id, out, sharing)
        return out, sharing

    def check(self, node: History, event: Event) -> HistoryResult:
        key = (node, event.event_id)
        got = self._cache.get(key)
        if got is None:
            got = self._compute(node, event)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = got
        return got

    def _compute(self, node: History, event: Event) -> HistoryResult:
        me = [s for s in sightings_of(event) if s.role == "vessel"]
        if not me:
            return NO
        now = me[0]
        if node.test == "designated_under_other_name":
            return self._designated_other_name(now)
        if vessel_key(now.vessel) is None:
            return NO  # a vessel known only by name has no history the engine can tie to it
        since = now.occurred_at - timedelta(days=_days(node))
        prior = [s for s in self.prior(event) if s.occurred_at >= since]
        self._event = event
        fn = getattr(self, "_" + node.test)
        result: HistoryResult = fn(node, now, prior)
        return result

    # -- the tests --------------------------------------------------------------------------

    def _flagged_events(self, node: History, prior: list[Sighting]) -> list[FlaggedEvent]:
        ids = list(dict.fromkeys(s.event_id for s in prior))
        found = self.source.flagged(ids, self.as_of)
        want = set(node.get("regimes") or ())
        out = []
        for s in prior:
            regimes = found.get(s.event_id)
            if regimes and (not want or want & set(regimes)):
                hit = sorted(want & set(regimes)) if want else regimes
                out.append(FlaggedEvent(s.event_id, s.occurred_at, hit, []))
        return list({f.event_id: f for f in out}.values())

    def _flagged_within_days(
        self, node: History, now: Sighting, prior: list[Sighting]
    ) -> HistoryResult:
        flagged = self._flagged_events(node, prior)
        return HistoryResult(
            bool(flagged),
            tuple(
                (f.event_id, f"earlier event of this vessel flagged under {', '.join(f.regimes)}")
                for f in flagged
            ),
        )

    def _identity_changed_after_flagged(
        self, node: History, now: Sighting, prior: list[Sighting]
    ) -> HistoryResult:
        """Flagged earlier under one name/flag, now reported under another."""
        cur = identity_of(now.vessel)
        by_id = {s.event_id: s for s in prior}
        relied: list[tuple[str, str]] = []
        for f in self._flagged_events(node, prior):
            then = identity_of(by_id[f.event_id].vessel)
            changed = [
                f"{k} {then[k]} -> {cur[k]}"
                for k in ("name", "flag")
                if k in then and k in cur and then[k] != cur[k]
            ]
            if changed:
                relied.append(
                    (
                        f.event_id,
                        f"flagged under {', '.join(f.regimes)} as {then.get('name', '?')}"
                        f" ({then.get('flag', '?')}); now {'; '.join(changed)}",
                    )
                )
        return HistoryResult(bool(relied), tuple(relied))

    def _identity_conflict(
        self, node: History, now: Sighting, prior: list[Sighting]
    ) -> HistoryResult:
        """The MMSI reported now was reported earlier with another IMO (a hull using another's
        identity, or a false IMO); or a name/flag change states a previous identity that is not
        what the vessel was last seen as. (A name used by another IMO is not a conflict: names
        repeat across hulls.)"""
        v = now.vessel
        event = self._event
        assert event is not None  # set by _compute
        relied: list[tuple[str, str]] = []
        if v.mmsi and v.imo:
            since = now.occurred_at - timedelta(days=_days(node))
            for s in self.sharing_numbers(event):
                if s.occurred_at < since:
                    continue
                o = s.vessel
                if o.mmsi == v.mmsi and o.imo and o.imo != v.imo:
                    relied.append(
                        (
                            s.event_id,
                            f"MMSI {v.mmsi} reported earlier with IMO {o.imo}, now {v.imo}",
                        )
                    )
        old_imo = now.previous.get("imo")
        if v.imo and old_imo and old_imo != v.imo:
            # an IMO number stays with the hull for life: a "changed" IMO is a false identity
            seen = [s for s in self.sharing_numbers(event) if s.vessel.imo == old_imo]
            for s in seen[-1:] or [now]:
                relied.append(
                    (
                        s.event_id,
                        f"IMO reported as changed from {old_imo} to {v.imo}: an IMO"
                        " number stays with the hull for life",
                    )
                )
        if v.imo:
            # the previous identity a change reports, against what the history shows
            for s in prior[-1:]:
                then = identity_of(s.vessel)
                claimed = now.previous
                for k in ("name", "flag", "call_sign"):
                    c = claimed.get(k)
                    if c and k in then and str(c).strip().upper() != then[k].upper():
                        relied.append(
                            (
                                s.event_id,
                                f"reports its previous {k} as {c}; last seen as {then[k]}",
                            )
                        )
        return HistoryResult(bool(relied), tuple(dict.fromkeys(relied)))

    def _designated_other_name(self, now: Sighting) -> HistoryResult:
        """The IMO is on the designated-vessel register on this day but the name reported is
        neither its designated name nor a former name on the register."""
        reg = self.register
        v = now.vessel
        if reg is None or not v.imo or not v.name:
            return NO
        name = " ".join(v.name.upper().split())
        day = now.occurred_at.date()
        for entry in reg.vessels:
            if entry.imo != v.imo or entry.standing(day) is None:
                continue
            known = {" ".join(n.upper().split()) for n in (entry.name, *entry.former_names)}
            if name not in known:
                return HistoryResult(
                    True,
                    (
                        (
                            entry.reference,
                            f"IMO {v.imo} designated as {entry.name}; reported as {v.name}",
                        ),
                    ),
                )
        return NO

    def _flag_changes_within_days(
        self, node: History, now: Sighting, prior: list[Sighting]
    ) -> HistoryResult:
        """Changes of flag in the window, this event included: consecutive sightings with
        different flags, and the previous flag a flag_change event reports."""
        relied: list[tuple[str, str]] = []
        last: str | None = None
        for s in [*prior, now]:
            before = s.previous.get("flag")
            flag = s.vessel.flag
            if before and flag and before != flag and (last is None or last == before):
                relied.append((s.event_id, f"flag {before} -> {flag}"))
            elif last and flag and flag != last:
                relied.append((s.event_id, f"flag {last} -> {flag}"))
            last = flag or last
        need = int(node.get("min", 2))
        return HistoryResult(len(relied) >= need, tuple(relied) if len(relied) >= need else ())

    def _is_designated(self, v: Any, day: Any) -> bool:
        reg = self.register
        if reg is None or v is None or not getattr(v, "imo", None):
            return False
        return any(e.imo == v.imo and e.standing(day) is not None for e in reg.vessels)

    def _sts_from(self, node: History, now: Sighting, prior: list[Sighting]) -> HistoryResult:
        """An earlier STS encounter in which this vessel took cargo from a vessel of one of
        ``flags`` or (``designated``) on the designated-vessel register."""
        flags = set(node.get("flags") or ())
        relied: list[tuple[str, str]] = []
        for s in prior:
            if not s.received_from_other or s.other is None:
                continue
            o = s.other
            why = []
            if o.flag and o.flag in flags:
                why.append(f"flag {o.flag}")
            if node.get("designated") and self._is_designated(o, s.occurred_at.date()):
                why.append("designated vessel")
            if why:
                cargo = f" ({', '.join(s.cargo)})" if s.cargo else ""
                relied.append(
                    (
                        s.event_id,
                        f"cargo{cargo} taken in an STS transfer from {o.name or o.imo or o.mmsi}"
                        f" ({'; '.join(why)})",
                    )
                )
        return HistoryResult(bool(relied), tuple(relied))

    def _ais_gap_near(self, node: History, now: Sighting, prior: list[Sighting]) -> HistoryResult:
        """An earlier AIS gap of this vessel that went dark or reappeared within ``km`` of a
        point of one of the watched ``areas``."""
        km = float(node.get("km"))
        relied: list[tuple[str, str]] = []
        for s in prior:
            if s.kind != "ais_gap":
                continue
            for label, pos in (("went dark", s.position), ("reappeared", s.end_position)):
                if pos is None:
                    continue
                for area in node.get("areas"):
                    place, dist = nearest(area, pos)
                    if dist <= km:
                        relied.append(
                            (s.event_id, f"AIS gap: {label} {dist:.0f} km from {place} ({area})")
                        )
                        break
        return HistoryResult(bool(relied), tuple(dict.fromkeys(relied)))


def default_history() -> VesselHistory:
    """The process-wide history provider (default_evaluator): the events and decisions tables."""
    return VesselHistory(StoredHistory())

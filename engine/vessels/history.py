"""History facts for ``vessel_history`` conditions, supplied to BOTH evaluators.

Like the caps ledger (engine/rules/caps.py), the answer is never kept in durable_rules: it is
recomputed from stored events, here the events naming the same vessel (engine.vessels.profile)
that occurred BEFORE this event (ordered by (occurred_at, event_id)) within the test's look-back,
and, for a replay, were received at or before the original decision (``as_of``); flagged prior
activity reads the decisions of those events evaluated before ``as_of`` (strictly: the events of
one batch are decided together, none sees the others' decisions, live or in a replay). The evaluator
writes each answer on the facts (``vh__<test>`` fields) for durable_rules; the oracle asks
``check`` directly; the explanation lists the earlier events the answer relied on. The stored
sightings come from the vessel_sightings index (engine/vessels/index.py, StoredHistory), a whole
batch's at once (``VesselHistory.prepare``).

The tests (rules/README.md §14): flagged_within_days, identity_changed_after_flagged,
identity_conflict, designated_under_other_name, flag_changes_within_days, sts_from, ais_gap_near,
owner_designated.
"""

from __future__ import annotations

import json
from collections import defaultdict
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
    """The events and decisions tables, found through the vessel_sightings index
    (engine/vessels/tables.py): the events with a sighting (vessel or STS counterpart) reported
    with one of the numbers, start <= occurred_at <= end, received at or before ``as_of``; at
    most ``ROW_LIMIT`` of them, newest first. The same query reads their decisions (outer join),
    so ``flagged`` needs no second round trip for the events it just found. Events and decisions
    are immutable once stored: parsed events and decided events' regimes are kept (bounded)."""

    ROW_LIMIT = 5000
    DECIDED_LIMIT = 50_000
    SIGHTINGS_LIMIT = 50_000

    def __init__(self) -> None:
        # (event id, seq) -> the sighting an index row holds (rows are never changed)
        self._sightings: dict[tuple[str, int], Sighting] = {}
        # event id -> (evaluated_at, regimes flagged) of a stored decision (a decision is final)
        self._decided: dict[str, tuple[datetime, list[str]]] = {}
        # the events the last read found undecided: their flagged() answer is that read's
        self._undecided: set[str] = set()

    def events_naming(
        self, ids: Sequence[str], start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        """The events of ``sightings_naming`` (for callers that want whole events)."""
        import json

        from sqlalchemy import Text, select, type_coerce

        from engine.storage.db import get_engine
        from engine.storage.tables import EventRow

        wanted = list(
            dict.fromkeys(s.event_id for s in self.sightings_naming(ids, start, end, as_of))
        )
        if not wanted:
            return []
        t = EventRow.__table__
        with get_engine().connect() as conn:
            raw: dict[str, Any] = dict(
                conn.execute(
                    select(t.c.event_id, type_coerce(t.c.raw, Text)).where(t.c.event_id.in_(wanted))
                ).all()
            )
        return [
            Event.model_validate(json.loads(r) if isinstance(r, str) else r)
            for e in wanted
            if (r := raw.get(e)) is not None
        ]

    def sightings_naming(
        self, ids: Sequence[str], start: datetime, end: datetime, as_of: datetime | None
    ) -> list[Sighting]:
        """Every sighting (all the vessels each names) of the newest ``ROW_LIMIT`` events with a
        sighting reported with one of these numbers, start <= occurred_at <= end, received at or
        before ``as_of``: newest first, an event's sightings in their order; as
        ``sightings_of`` gave them for the stored events."""
        from engine.storage.db import get_engine

        if not ids:
            return []
        params: dict[str, Any] = {
            "ids": sorted(set(ids)),
            "start": start.astimezone(UTC),
            "end": end.astimezone(UTC),
        }
        if as_of is not None:
            params["as_of"] = as_of.astimezone(UTC)
        q = _sightings_query(as_of is not None, 2 * self.ROW_LIMIT)
        out: list[Sighting] = []
        events: set[str] = set()
        self._undecided = set()
        with get_engine().connect() as conn:
            rows = conn.execute(q, params).all()
        for (
            event_id,
            seq,
            occurred_at,
            role,
            kind,
            detail,
            status,
            evaluated_at,
            violations,
        ) in rows:
            if event_id not in events:
                if len(events) >= self.ROW_LIMIT:
                    break
                events.add(event_id)
                self._note_decision(event_id, status, evaluated_at, violations)
            out.append(self._sighting(event_id, seq, occurred_at, role, kind, detail))
        return out

    BATCH_ROWS = 50_000  # a batch look-up reading more falls back to one look-up per event

    def sightings_many(
        self,
        requests: Sequence[tuple[Sequence[str], datetime, datetime]],
        as_of: datetime | None,
    ) -> list[list[Sighting] | None]:
        """``sightings_naming`` for each (ids, start, end) of a batch, read in one query over
        the union of their numbers and windows and then split per request exactly as
        ``sightings_naming`` selects; None for all when the union holds more than
        ``BATCH_ROWS`` rows (the caller asks per event)."""
        from engine.storage.db import get_engine

        wanted = sorted({i for ids, _s, _e in requests for i in ids})
        if not wanted:
            return [[] for _ in requests]
        params: dict[str, Any] = {
            "ids": wanted,
            "start": min(r[1] for r in requests).astimezone(UTC),
            "end": max(r[2] for r in requests).astimezone(UTC),
        }
        if as_of is not None:
            params["as_of"] = as_of.astimezone(UTC)
        q = _batch_query(as_of is not None, self.BATCH_ROWS + 1)
        with get_engine().connect() as conn:
            rows = conn.execute(q, params).all()
        if len(rows) > self.BATCH_ROWS:
            return [None for _ in requests]
        # rows come newest event first, an event's sightings in order
        order: dict[str, int] = {}
        of_event: dict[str, list[Any]] = defaultdict(list)
        by_number: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        at = None
        for row in rows:
            event_id, imo, mmsi = row[0], row[1], row[2]
            if event_id not in order:
                order[event_id] = len(order)
                at = _utc(row[3])  # an event's sightings share its occurred_at
            of_event[event_id].append(row)
            for number in (imo, mmsi):
                if number:
                    by_number[number].append((event_id, at))
        self._undecided = set()
        out: list[list[Sighting] | None] = []
        for ids, start, end in requests:
            lo, hi = start.astimezone(UTC), end.astimezone(UTC)
            events = sorted(
                {e for i in set(ids) for e, at in by_number.get(i, ()) if lo <= at <= hi},
                key=order.__getitem__,
            )[: self.ROW_LIMIT]
            found: list[Sighting] = []
            for e in events:
                for row in of_event[e]:
                    found.append(self._sighting(row[0], row[4], row[3], row[5], row[6], row[7]))
                first = of_event[e][0]
                self._note_decision(e, first[8], first[9], first[10])
            out.append(found)
        return out

    def _sighting(
        self, event_id: str, seq: int, occurred_at: datetime, role: str, kind: str, detail: Any
    ) -> Sighting:
        from engine.vessels.index import sighting_from

        key = (event_id, seq)
        got = self._sightings.get(key)
        if got is None:
            if len(self._sightings) >= self.SIGHTINGS_LIMIT:
                self._sightings.clear()
            data = json.loads(detail) if isinstance(detail, str) else detail
            got = self._sightings[key] = sighting_from(
                event_id, _utc(occurred_at), role, kind, data
            )
        return got

    def _note_decision(
        self, event_id: str, status: str | None, evaluated_at: datetime | None, violations: Any
    ) -> None:
        if status is None or evaluated_at is None:
            self._undecided.add(event_id)
            self._decided.pop(event_id, None)
            return
        at = _utc(evaluated_at)
        known = self._decided.get(event_id)
        if known is None or known[0] != at:
            if len(self._decided) >= self.DECIDED_LIMIT:
                self._decided.clear()
            self._decided[event_id] = (at, _regimes(status, violations))

    def flagged(self, event_ids: Sequence[str], as_of: datetime | None) -> dict[str, list[str]]:
        if not event_ids:
            return {}
        from sqlalchemy import select

        from engine.storage.db import get_engine
        from engine.storage.tables import DecisionRow

        ask = [
            e
            for e in dict.fromkeys(event_ids)
            if e not in self._decided and e not in self._undecided
        ]
        if ask:
            t = DecisionRow.__table__
            q = select(t.c.event_id, t.c.status, t.c.evaluated_at, t.c.violations).where(
                t.c.event_id.in_(sorted(ask))
            )
            with get_engine().connect() as conn:
                for event_id, status, evaluated_at, violations in conn.execute(q):
                    self._decided[event_id] = (_utc(evaluated_at), _regimes(status, violations))
        out: dict[str, list[str]] = {}
        for e in event_ids:
            got = self._decided.get(e)
            if got is None or not got[1]:
                continue
            # strictly before: decisions of the same batch share its evaluated_at and were not
            # stored yet when the batch was decided
            if as_of is not None and not got[0] < as_of.astimezone(UTC):
                continue
            out[e] = got[1]
        return out


_QUERIES: dict[tuple[bool, int], Any] = {}


def _naming(with_as_of: bool) -> Any:
    """The ids of the events with a sighting of one of ``ids`` in [start, end], received at or
    before ``as_of`` when a replay gives one: the inner query of both look-ups."""
    from sqlalchemy import DateTime, bindparam, or_, select

    from engine.vessels.tables import VesselSightingRow

    s = VesselSightingRow.__table__
    ids: Any = bindparam("ids", expanding=True)
    naming = select(s.c.event_id).where(
        or_(s.c.imo.in_(ids), s.c.mmsi.in_(ids)),
        s.c.occurred_at >= bindparam("start", type_=DateTime(timezone=True)),
        s.c.occurred_at <= bindparam("end", type_=DateTime(timezone=True)),
    )
    if with_as_of:
        naming = naming.where(s.c.received_at <= bindparam("as_of", type_=DateTime(timezone=True)))
    return naming


def _sightings_query(with_as_of: bool, limit: int) -> Any:
    """The look-up, built once (constructing it costs more than running it): every sighting of
    the newest events that have a sighting with one of ``ids`` in [start, end] (received at or
    before ``as_of``), with the event's decision if any. An event has at most two sightings
    (vessel, counterpart), so ``limit`` rows of the inner query reach ``limit / 2`` events."""
    key = (with_as_of, limit)
    got = _QUERIES.get(key)
    if got is not None:
        return got
    from sqlalchemy import Text, select, type_coerce

    from engine.storage.tables import DecisionRow
    from engine.vessels.tables import VesselSightingRow

    s = VesselSightingRow.__table__
    d = DecisionRow.__table__
    naming = _naming(with_as_of).order_by(s.c.occurred_at.desc()).limit(limit)
    q = (
        select(
            s.c.event_id,
            s.c.seq,
            s.c.occurred_at,
            s.c.role,
            s.c.kind,
            type_coerce(s.c.detail, Text),
            d.c.status,
            d.c.evaluated_at,
            type_coerce(d.c.violations, Text),
        )
        .select_from(s.outerjoin(d, d.c.event_id == s.c.event_id))
        .where(s.c.event_id.in_(naming.scalar_subquery()))
        .order_by(s.c.occurred_at.desc(), s.c.event_id, s.c.seq)
    )
    _QUERIES[key] = q
    return q


def _batch_query(with_as_of: bool, limit: int) -> Any:
    """The batch look-up (built once): every sighting of the events that have a sighting with
    one of ``ids`` in [start, end] (received at or before ``as_of``), newest event first, with
    the sighting's numbers and the event's decision; at most ``limit`` rows."""
    key = (with_as_of, -limit)
    got = _QUERIES.get(key)
    if got is not None:
        return got
    from sqlalchemy import Text, select, type_coerce

    from engine.storage.tables import DecisionRow
    from engine.vessels.tables import VesselSightingRow

    s = VesselSightingRow.__table__
    d = DecisionRow.__table__
    naming = _naming(with_as_of)
    q = (
        select(
            s.c.event_id,
            s.c.imo,
            s.c.mmsi,
            s.c.occurred_at,
            s.c.seq,
            s.c.role,
            s.c.kind,
            type_coerce(s.c.detail, Text),
            d.c.status,
            d.c.evaluated_at,
            type_coerce(d.c.violations, Text),
        )
        .select_from(s.outerjoin(d, d.c.event_id == s.c.event_id))
        .where(s.c.event_id.in_(naming))
        .order_by(s.c.occurred_at.desc(), s.c.event_id, s.c.seq)
        .limit(limit)
    )
    _QUERIES[key] = q
    return q


def _regimes(status: str, violations: Any) -> list[str]:
    """The regimes a stored decision flagged by violations resting on its event itself."""
    if status != "flagged":
        return []
    if isinstance(violations, str):
        import json

        violations = json.loads(violations)
    return flagged_of(violations or [])[0]


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


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
        screener: Any = None,
    ) -> None:
        self.source: HistorySource = source if source is not None else StoredHistory()
        self.as_of = as_of
        self.register = register  # the pack's designated-vessel register (VesselRegister)
        # screens owner / operator / manager names (engine.screening.Screener.screen_name); the
        # evaluator hands each batch's in ``prepare``
        self.screener: Any = screener
        self.max_days = max_days
        self._cache: dict[tuple[History, str], HistoryResult] = {}
        self._event: Event | None = None  # the event being checked (for the tests that need it)
        self._prior: tuple[str, list[Sighting], list[Sighting]] | None = None
        self._me: tuple[Event, list[Sighting]] | None = None
        # event id -> (its look-up, the sightings found) read for the batch (``prepare``)
        self._batch: dict[str, tuple[tuple[tuple[str, ...], datetime, datetime], list[Sighting]]]
        self._batch = {}

    def replaying(self, as_of: datetime) -> VesselHistory:
        """The same history as it stood at ``as_of`` (a replay of a decision made then)."""
        return VesselHistory(self.source, as_of, self.register, self.max_days, self.screener)

    def with_register(self, register: Any) -> VesselHistory:
        if register is self.register:
            return self
        return VesselHistory(self.source, self.as_of, register, self.max_days, self.screener)

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

    def _mine(self, event: Event) -> list[Sighting]:
        """The event's own sightings as ``vessel`` (kept for the event being checked)."""
        if self._me is None or self._me[0] is not event:
            self._me = (event, [s for s in sightings_of(event) if s.role == "vessel"])
        return self._me[1]

    def _request(self, event: Event) -> tuple[tuple[str, ...], datetime, datetime] | None:
        """(numbers, start, end) of the look-up for this event's vessel; None: no history."""
        me = self._mine(event)
        if not me or vessel_key(me[0].vessel) is None:
            return None
        v = me[0].vessel
        prev = me[0].previous  # an identity_change names the numbers reported before
        ids = tuple(x for x in (v.imo, v.mmsi, prev.get("imo"), prev.get("mmsi")) if x)
        at = event.occurred_at.astimezone(UTC)
        return ids, at - timedelta(days=self.max_days), at

    def prepare(self, events: Sequence[Event], screener: Any = None) -> None:
        """Read the stored sightings of a whole batch's vessels in one query (when the source
        can), before its events are checked one by one; the answers are the same as per event.
        ``screener`` is the batch's (for ``owner_designated``: the list snapshot the decisions
        record, pinned in a replay)."""
        if screener is not self.screener:
            self.screener = screener
            self._cache.clear()
        self._batch = {}
        many = getattr(self.source, "sightings_many", None)
        if many is None:
            return
        asks = [(e.event_id, r) for e in events if (r := self._request(e)) is not None]
        if len(asks) < 2:
            return
        got = many([r for _e, r in asks], self.as_of)
        self._batch = {
            e: (r, found) for (e, r), found in zip(asks, got, strict=True) if found is not None
        }

    def _read(self, event: Event) -> tuple[list[Sighting], list[Sighting]]:
        if self._prior is not None and self._prior[0] == event.event_id:
            return self._prior[1], self._prior[2]
        me = self._mine(event)
        request = self._request(event)
        out: list[Sighting] = []
        sharing: list[Sighting] = []
        if request is not None:
            key = vessel_key(me[0].vessel)
            assert key is not None  # _request checked it
            ids, start, at = request
            found: list[Sighting] = []
            batch = self._batch.get(event.event_id)
            by_index = getattr(self.source, "sightings_naming", None)
            candidates: Iterable[Sighting] = (
                batch[1]
                if batch is not None and batch[0] == request
                else by_index(ids, start, at, self.as_of)
                if by_index is not None
                else (
                    s
                    for other in self.source.events_naming(ids, start, at, self.as_of)
                    for s in sightings_of(other)
                )
            )
            for s in candidates:
                if s.event_id == event.event_id:
                    continue
                if (s.occurred_at, s.event_id) >= (at, event.event_id):
                    continue  # at the same instant, only events ordered before this one count
                found.append(s)
            out = of_vessel(key, found + me)
            out = [s for s in out if s.event_id != event.event_id]
            sharing = sorted(
                (s for s in found if s.vessel.imo in ids or s.vessel.mmsi in ids),
                key=lambda s: s.order,
            )
        self._prior = (event.event_id, out, sharing)
        return out, sharing

    def may_hold(self, event: Event) -> bool:
        """False when every test answers NO for this event whatever the store holds: it names no
        vessel of its own (as ``_compute`` finds from its sightings). Lets the evaluator skip
        the checks of the many events without a vessel."""
        s, m = event.shipment, event.vessel_movement
        return (s is not None and s.vessel is not None) or (m is not None and m.vessel is not None)

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
        me = self._mine(event)
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

    def _owner_designated(
        self, node: History, now: Sighting, prior: list[Sighting]
    ) -> HistoryResult:
        """The owner, operator or manager the vessel was reported with, in this event or an
        earlier one within ``days``, matches an entry of the list snapshot in force at this
        event (the decision's list version) under one of ``regimes`` (omitted: any)."""
        screen = getattr(self.screener, "screen_name", None)
        if screen is None:
            return NO
        want = set(node.get("regimes") or ())
        relied: list[tuple[str, str]] = []
        seen: dict[str, list[Any]] = {}
        for s in [*prior, now]:
            for role in ("owner", "operator", "manager"):
                name = getattr(s.vessel, role, None)
                if not name or not str(name).strip():
                    continue
                folded = " ".join(str(name).upper().split())
                if folded not in seen:
                    seen[folded] = [
                        h
                        for h in screen(str(name), now.occurred_at)
                        if not want or h.list_regime in want
                    ]
                for h in seen[folded]:
                    how = "same name" if h.method == "name_exact" else f"{h.method} {h.score:.2f}"
                    relied.append(
                        (
                            s.event_id,
                            f"{role} {name} matches {h.reference} {h.entry_name}"
                            f" ({h.list_regime} list, {how})",
                        )
                    )
        return HistoryResult(bool(relied), tuple(dict.fromkeys(relied)))

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

"""The caps ledger of a period replay: every counted goods line read once, then answered from memory.

The live ledger (engine.rules.caps.CapsLedger) reads the events of a cap's period from the store
for each goods line it is asked about, which a replay of N events turns into N reads of the
period. A replay knows its range up front, so this ledger reads the stored shipments and vessel
movements of ``[earliest cap period start, until]`` ONCE, keeps only the events with lines that
count toward some cap of the pack (with their occurred_at, receipt time and notification ref),
sorted by occurred_at, and answers ``usage`` for any cut-off (``replaying(as_of)``: only events
received by then count) by bisecting that index. The totals are the same figures: the same lines
are selected by the same ``counted_lines``, and CapsLedger sums them exactly (math.fsum), so the
order they are read in does not matter. A question outside the indexed range (a decision of
another period) falls back to the live reading.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.models.events import Event
from engine.rules.caps import (
    CapsLedger,
    StoredEvents,
    _event_countries,
    _notification_ref,
    _required_countries,
    period_start,
)
from engine.rules.schema import Cap, FixedPeriod, Rule, start_utc
from engine.storage.repository import as_utc

# (occurred_at, event_id, received_at, notification ref, rule id, counted lines)
Found = tuple[datetime, str, datetime, str | None, str, list[tuple[int, float | None]]]
PARSED_KEEP = 50_000  # parsed events handed on to the replay's evaluation (a speed-up only)


@dataclass
class _Counted:
    """One rule's counted events, in occurred_at order."""

    at: list[datetime] = field(default_factory=list)
    rows: list[tuple[datetime, str, datetime, str | None, list[tuple[int, float | None]]]] = field(
        default_factory=list
    )


class CapsIndex:
    """The counted lines of every cap rule of a pack over one range of occurred_at, read once."""

    def __init__(
        self,
        rules: Sequence[Rule],
        since: datetime,
        until: datetime,
        parsed: dict[str, Event] | None = None,
    ) -> None:
        self.rules = [r for r in rules if r.cap is not None]
        self.lo = min(
            (_earliest_start(r.cap, since) for r in self.rules if r.cap is not None),
            default=since,
        )
        self.hi = until
        # events parsed here are handed to the replay loop (parsed once); bounded
        self.parsed: dict[str, Event] = parsed if parsed is not None else {}
        self._by_rule: dict[str, _Counted] | None = None

    def covers(self, start: datetime, at: datetime) -> bool:
        return self.lo <= start and at <= self.hi

    def load(self, ledger: CapsLedger) -> dict[str, _Counted]:
        if self._by_rule is None:
            self._by_rule = self.build(self.scan(ledger))
        return self._by_rule

    def scan(self, ledger: CapsLedger, part: tuple[int, int] | None = None) -> list[Found]:
        """The counted lines of the range's stored events (``part`` = (k, n): only those whose
        row id is k modulo n, one worker's share; the shares' results together are the
        whole), each event parsed once."""
        from sqlalchemy import Text, select, type_coerce

        from engine.storage.db import get_engine
        from engine.storage.tables import EventRow

        t = EventRow.__table__
        q = select(
            t.c.event_id, t.c.occurred_at, t.c.received_at, type_coerce(t.c.raw, Text)
        ).where(
            t.c.event_type.in_(("shipment", "vessel_movement")),
            t.c.occurred_at >= self.lo,
            t.c.occurred_at <= self.hi,
        )
        if part is not None:
            q = q.where(t.c.id % part[1] == part[0])
        rows: list[Any] = []
        with get_engine().connect() as conn:
            rows = list(conn.execute(q).all())
        found: list[Found] = []
        for event_id, _occurred, received, raw in rows:
            try:
                ev = Event.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
            except ValueError:
                continue  # a stored row that no longer validates cannot count (as live)
            if len(self.parsed) < PARSED_KEEP:
                self.parsed[event_id] = ev
            o_at = ev.occurred_at.astimezone(UTC)
            countries = _event_countries(ev)  # once per event, not once per rule
            for rule in self.rules:
                assert rule.cap is not None
                need = _required_countries(rule)
                if need and not need & countries:
                    continue  # counted_lines would find no line (its _may_touch check)
                lines = ledger.counted_lines(rule, rule.cap, ev)
                if lines:
                    found.append(
                        (o_at, event_id, as_utc(received), _notification_ref(ev), rule.id, lines)
                    )
        return found

    def build(self, found: list[Found]) -> dict[str, _Counted]:
        """The index from the counted lines of every share, in (occurred_at, event_id) order."""
        by_rule = {r.id: _Counted() for r in self.rules}
        for o_at, event_id, received, ref, rule_id, lines in sorted(
            found, key=lambda f: (f[0], f[1])
        ):
            c = by_rule[rule_id]
            c.at.append(o_at)
            c.rows.append((o_at, event_id, received, ref, lines))
        return by_rule

    def preload(self, by_rule: dict[str, _Counted]) -> None:
        """The index built from lines read elsewhere (``build`` of a parallel replay's shares)."""
        self._by_rule = by_rule


def _earliest_start(cap: Cap, since: datetime) -> datetime:
    """The earliest period start of an event occurring at or after ``since``."""
    if isinstance(cap.period, FixedPeriod):
        return start_utc(cap.period.from_)
    return period_start(cap, since)


class ReplayLedger(CapsLedger):
    """CapsLedger whose period reads come from a CapsIndex (shared by its cut-off variants)."""

    def __init__(
        self,
        rules: Sequence[Rule] | Callable[[str], Rule],
        index: CapsIndex,
        as_of: datetime | None = None,
        register: Any = None,
        source: Any = None,
    ) -> None:
        super().__init__(rules, source if source is not None else StoredEvents(), as_of, register)
        self.index = index

    def _variant(self, as_of: datetime | None, register: Any) -> ReplayLedger:
        other = ReplayLedger(self._rule, self.index, as_of, register, self.source)
        other._lines = self._lines
        return other

    def replaying(self, as_of: datetime) -> CapsLedger:
        return self._variant(as_of, self.register)

    def with_register(self, register: Any) -> CapsLedger:
        if register is self.register:
            return self
        return self._variant(self.as_of, register)

    def counted_before(
        self, rule: Rule, cap: Cap, start: datetime, at: datetime
    ) -> Iterator[tuple[datetime, str, str | None, list[tuple[int, float | None]]]]:
        if not self.index.covers(start, at):
            yield from super().counted_before(rule, cap, start, at)
            return
        counted = self.index.load(self).get(rule.id)
        if counted is None:  # not a cap rule of the indexed pack
            yield from super().counted_before(rule, cap, start, at)
            return
        lo = bisect.bisect_left(counted.at, start)
        hi = bisect.bisect_right(counted.at, at)
        as_of = self.as_of
        for o_at, event_id, received, ref, lines in counted.rows[lo:hi]:
            if as_of is None or received <= as_of:
                yield o_at, event_id, ref, lines

"""The caps ledger: running totals for quantity-cap rules, derived from stored events only.

A cap rule (rules/README.md §5) fires when the total supplied in its period, after this goods line,
exceeds the cap. The total is never kept in durable_rules: it is recomputed from the events table
(or an in-memory list in tests and benchmarks), so a replay gets exactly the same figure.

What counts: every goods line of an event whose ``occurred_at`` lies in the cap period and BEFORE
this line — ordered by (occurred_at, event_id, line) so ties are deterministic — and that matches
the rule's positive condition (``all``/``any``; ``unless`` is ignored: a notified or exempted supply
still uses up the cap). For a replay pass ``as_of`` (the original decision time) and only events
received at or before it are counted.

Unit conversion into the cap's unit (documented factors; a line that cannot be converted makes the
total unknown for that line -> the rule flags it at low confidence):

- volume: 1 bbl = 158.987 l; 1 m3 = 6.28981 bbl.
- mass to barrels: crude oil (HS 2709) 7.33 bbl per tonne; refined products (HS 2710, and any
  line matched by description) 7.45 bbl per tonne (gasoil/diesel, the bulk of DPRK imports).
  Rule override: UNSCR-2397-OP4 converts at the resolution's own ratio 4,000,000 bbl / 525,000 t
  = 7.619 bbl per tonne, so its "4 million barrels or 525,000 tons" is one cap, not two.
- mass: 1 t = 1,000 kg = 1,000,000 g.
- usd: the line's value when its currency is USD (or a quantity given in ``usd``); no FX rates.

Notified quantities (the registers, engine.registers): with a register snapshot
(``with_register``), every approved notification of the rule's regime that counts toward the cap
(it covers the rule, or a rule with the same citation, e.g. UNSCR-2397-OP5-NOTIFY for the 2397 OP5
cap, or its basis is the rule's citation) and whose ``valid_from`` lies in the period before the
event adds its notified quantity to the total, less what the supplies this engine saw citing it
already count (so a notified supply is never counted twice, and a notification larger than the
supplies seen still counts in full). The snapshot is the register version the decision records,
so a replay recomputes the same total.
"""

from __future__ import annotations

import bisect
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.models.events import Event, Goods, Unit
from engine.rules.conditions import in_force, leaf_holds
from engine.rules.facts import Fact, FactBuilder, direction_sets
from engine.rules.schema import (
    All,
    AnyOf,
    Cap,
    CapUsage,
    Direction,
    FixedPeriod,
    GoodsMatch,
    History,
    Node,
    Not,
    RefStatus,
    Rule,
    end_utc,
    start_utc,
)

LITRES_PER_BBL = 158.987
BBL_PER_M3 = 6.28981
BBL_PER_T = {"2709": 7.33, "2710": 7.45}
BBL_PER_T_DEFAULT = 7.45
RULE_BBL_PER_T = {"UNSCR-2397-OP4": 4_000_000 / 525_000}
KG_PER = {"t": 1000.0, "kg": 1.0, "g": 0.001}
CACHE_LIMIT = 50_000  # (rule, event) -> counted lines: a few small tuples each
# Parsed events cost ~7 KB each: 200,000 of them grew a pool process by ~1.4 GB (issue 9). A scan
# of a cap period longer than this re-parses the rest; the cache is a speed-up, not a store.
PARSED_LIMIT = int(os.environ.get("SANCTIONS_CAPS_PARSED_CACHE", "10000"))
_NOT_COUNTED = CapUsage(prior=0.0, this=0.0)  # answer for lines the rule does not select


def bbl_per_tonne(rule_id: str, hs_code: str | None) -> float:
    if rule_id in RULE_BBL_PER_T:
        return RULE_BBL_PER_T[rule_id]
    return BBL_PER_T.get((hs_code or "")[:4], BBL_PER_T_DEFAULT)


def convert(goods: Goods, unit: str, rule_id: str = "") -> float | None:
    """This goods line's quantity in ``unit`` (a cap unit), or None when it cannot be converted."""
    if unit == "usd":
        if goods.unit is not None and goods.unit.value == "usd" and goods.quantity is not None:
            return float(goods.quantity)
        if goods.value is not None and goods.value.currency == "USD":
            return float(goods.value.amount)
        return None
    if goods.quantity is None or goods.unit is None:
        return None
    q, u = float(goods.quantity), goods.unit.value
    # Normalise to a base: barrels for volume, kilograms for mass.
    if u in ("bbl", "l", "m3"):
        bbl = q if u == "bbl" else (q / LITRES_PER_BBL if u == "l" else q * BBL_PER_M3)
        if unit == "bbl":
            return bbl
        if unit == "l":
            return bbl * LITRES_PER_BBL
        if unit == "m3":
            return bbl / BBL_PER_M3
        if unit in KG_PER:
            tonnes = bbl / bbl_per_tonne(rule_id, goods.hs_code)
            return tonnes * 1000.0 / KG_PER[unit]
        return None
    if u in KG_PER:
        kg = q * KG_PER[u]
        if unit in KG_PER:
            return kg / KG_PER[unit]
        if unit in ("bbl", "l", "m3"):
            bbl = kg / 1000.0 * bbl_per_tonne(rule_id, goods.hs_code)
            return (
                bbl
                if unit == "bbl"
                else (bbl * LITRES_PER_BBL if unit == "l" else bbl / BBL_PER_M3)
            )
        return None
    return float(q) if u == unit else None


def period_start(cap: Cap, at: datetime) -> datetime:
    """Start of the cap period that contains ``at`` (UTC)."""
    at = at.astimezone(UTC)
    if isinstance(cap.period, FixedPeriod):
        return start_utc(cap.period.from_)
    if cap.period == "calendar_year":
        return datetime(at.year, 1, 1, tzinfo=UTC)
    # rolling_12_months: the same instant one year earlier (29 Feb -> 28 Feb).
    try:
        return at.replace(year=at.year - 1)
    except ValueError:
        return at.replace(year=at.year - 1, day=28)


def period_end(cap: Cap) -> datetime | None:
    return end_utc(cap.period.to) if isinstance(cap.period, FixedPeriod) else None


# -- which lines count: the rule's positive condition over goods facts -----------------------------


def counts(node: Node, fact: Fact) -> bool:
    """Does this goods fact satisfy the node (the leaves of engine.rules.conditions, at ``low``:
    a shorter HS code, a keyword or a place of the area's country without a name all count)?
    Used only to decide what counts toward a cap. Register statuses count as satisfied: a
    notified or exempted supply still uses up the cap (so does notified non-DPRK coal through
    Rajin under the 2321 coal cap, a conservative reading)."""
    if isinstance(node, All):
        return all(counts(n, fact) for n in node.items)
    if isinstance(node, AnyOf):
        return any(counts(n, fact) for n in node.items)
    if isinstance(node, Not):
        return not counts(node.item, fact)
    if isinstance(node, History):
        return True  # vessel history decides whether a line breaches, not whether it is supplied
    return leaf_holds(node, fact, "low", _any_status)


def _any_status(_node: RefStatus) -> bool:
    return True  # a notified or exempted supply still uses up the cap


_REQUIRED: dict[str, frozenset[str]] = {}


def _required_countries(rule: Rule) -> frozenset[str]:
    """Countries one of which the event must involve for the rule to match: those of a to/from/
    touches leaf directly in ``when.all`` (empty = no such requirement)."""
    got = _REQUIRED.get(rule.id)
    if got is None:
        got = frozenset(c for n in rule.when.all if isinstance(n, Direction) for c in n.countries)
        _REQUIRED[rule.id] = got
    return got


def _event_countries(event: Event) -> set[str]:
    """Every country in one of the event's direction sets (facts.direction_sets)."""
    to, frm, touches, origins = direction_sets(event)
    return to | frm | touches | {c for c in origins if c}


def _may_touch(rule: Rule, event: Event) -> bool:
    """Cheap necessary condition (no fact building): the event involves a required country."""
    need = _required_countries(rule)
    return not need or bool(need & _event_countries(event))


def counted_condition(rule: Rule) -> Node:
    """The part of a rule's condition that selects the lines counting toward its cap: ``all`` and
    ``any`` (``unless`` is ignored: a notified or exempted supply still uses up the cap)."""
    parts: list[Node] = list(rule.when.all)
    if rule.when.any:
        parts.append(AnyOf(tuple(rule.when.any)))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


# -- where the events come from ------------------------------------------------------------------


class EventSource(Protocol):
    def events_between(
        self, start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        """Stored shipment / vessel_movement events with start <= occurred_at <= end (UTC)."""
        ...


class MemoryEvents:
    """An in-memory event store (tests, benchmarks): events kept sorted by occurred_at, with
    optional receipt times for replay cut-offs."""

    def __init__(
        self, events: Iterable[Event] = (), received: dict[str, datetime] | None = None
    ) -> None:
        self._keys: list[datetime] = []
        self._events: list[Event] = []
        self.received: dict[str, datetime] = dict(received or {})
        for e in events:
            self.add(e)

    def add(self, event: Event, received_at: datetime | None = None) -> None:
        at = event.occurred_at.astimezone(UTC)
        i = bisect.bisect_right(self._keys, at)
        self._keys.insert(i, at)
        self._events.insert(i, event)
        if received_at is not None:
            self.received[event.event_id] = received_at

    def events_between(
        self, start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        lo = bisect.bisect_left(self._keys, start.astimezone(UTC))
        hi = bisect.bisect_right(self._keys, end.astimezone(UTC))
        for e in self._events[lo:hi]:
            if e.event_type.value == "entity":
                continue
            if as_of is not None and self.received.get(e.event_id, as_of) > as_of:
                continue
            yield e


class StoredEvents:
    """The events table. Only cheap columns are filtered in SQL; raw JSON is parsed once per event
    and cached (events are immutable, so the cache can never go stale)."""

    def __init__(self) -> None:
        self._parsed: dict[str, Event] = {}

    def events_between(
        self, start: datetime, end: datetime, as_of: datetime | None
    ) -> Iterable[Event]:
        from sqlalchemy import Text, select, type_coerce

        from engine.storage.db import get_engine
        from engine.storage.tables import EventRow

        t = EventRow.__table__
        # type_coerce changes no SQL (same query, same row order): it only stops SQLAlchemy from
        # JSON-decoding every row's raw on SQLite; we decode just the rows not parsed before.
        q = select(t.c.event_id, type_coerce(t.c.raw, Text)).where(
            t.c.event_type.in_(("shipment", "vessel_movement")),
            t.c.occurred_at >= start.astimezone(UTC),
            t.c.occurred_at <= end.astimezone(UTC),
        )
        if as_of is not None:
            q = q.where(t.c.received_at <= as_of.astimezone(UTC))
        with get_engine().connect() as conn:
            rows = conn.execute(q).all()
        for event_id, raw in rows:
            ev = self._parsed.get(event_id)
            if ev is None:
                try:
                    ev = Event.model_validate(
                        json.loads(raw) if isinstance(raw, str) else raw
                    )  # PostgreSQL: driver-decoded
                except ValueError:
                    continue  # a stored row that no longer validates cannot count
                if len(self._parsed) >= PARSED_LIMIT:
                    self._parsed.clear()
                self._parsed[event_id] = ev
            yield ev


# -- the ledger ----------------------------------------------------------------------------------


class CapsLedger:
    """Implements the evaluator's CapsProvider: ``usage(rule_id, cap, event, line)``."""

    def __init__(
        self,
        rules: Sequence[Rule] | Callable[[str], Rule],
        source: EventSource | None = None,
        as_of: datetime | None = None,
        register: Any = None,
    ) -> None:
        # register: a snapshot of the stored registers (engine.registers.lookup.SnapshotRegister)
        # whose approved notifications count toward the caps; None = supplies seen only.
        self.register = register
        if callable(rules):
            self._rule = rules
        else:
            by_id = {r.id: r for r in rules}
            self._rule = by_id.__getitem__
        self.source: EventSource = source if source is not None else StoredEvents()
        self.as_of = as_of
        self._builder = FactBuilder(kinds=("goods",))
        self._lines: dict[tuple[str, str], list[tuple[int, float | None]]] = {}
        self._last: tuple[Event, list[Fact]] | None = None
        self._cur: Event | None = None
        self._cur_sel: dict[str, set[int]] = {}
        self._cur_countries: tuple[Event, set[str]] | None = None

    def _facts(self, event: Event) -> list[Fact]:
        if self._last is None or self._last[0] is not event:
            self._last = (event, self._builder.build(event))
        return self._last[1]

    def replaying(self, as_of: datetime) -> CapsLedger:
        """A ledger over the same source that counts only events received at or before ``as_of``."""
        other = CapsLedger(self._rule, self.source, as_of, self.register)
        other._lines = self._lines
        return other

    def rule(self, rule_id: str) -> Rule:
        return self._rule(rule_id)

    def with_register(self, register: Any) -> CapsLedger:
        """The same ledger counting the approved notifications of this register snapshot."""
        if register is self.register:
            return self
        other = CapsLedger(self._rule, self.source, self.as_of, register)
        other._lines = self._lines
        return other

    def notifications(self, rule: Rule, cap: Cap, at: datetime) -> dict[str, float]:
        """ref -> notified quantity (cap unit) of the approved notifications counting toward
        this cap with ``valid_from`` in the period up to ``at``."""
        snap = getattr(self.register, "snapshot", None)
        if snap is None:
            return {}
        start = period_start(cap, at)
        out: dict[str, float] = {}
        for ref, stored in snap.entries.items():
            e = stored.entry
            if stored.status != "approved" or not counts_toward(rule, e, self._rule):
                continue
            if not start <= start_utc(e.valid_from) <= at:
                continue
            out[ref] = notified_amount(rule, cap, e)
        return out

    def notified(self, rule_id: str, cap: Cap, event: Event, line: int = 0) -> Notified:
        """What the decision shows: notified supplies in the period and the running total."""
        rule = self._rule(rule_id)
        at = event.occurred_at.astimezone(UTC)
        found = self.notifications(rule, cap, at)
        usage = self.usage(rule_id, cap, event, line) if _lines_of(event) else None
        total = usage.prior + usage.this if usage is not None else None
        return Notified(amount=sum(found.values()), entries=len(found), total=total)

    def counted_lines(self, rule: Rule, cap: Cap, event: Event) -> list[tuple[int, float | None]]:
        """(line, amount in cap unit) of the lines of ``event`` that count toward this cap."""
        key = (rule.id, event.event_id)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        out: list[tuple[int, float | None]] = []
        if (
            in_force(rule, event.occurred_at)
            and event.event_type.value in rule.applies_to
            and _may_touch(rule, event)
        ):
            cond = counted_condition(rule)
            seen: set[int] = set()
            for fact in self._facts(event):
                # a line with several candidate HS codes has one fact per code: count it once
                if fact.kind == "goods" and fact.payload["line"] not in seen and counts(cond, fact):
                    seen.add(fact.payload["line"])
                    out.append(
                        (
                            fact.payload["line"],
                            convert(fact.payload["goods"], cap.unit.value, rule.id),
                        )
                    )
        if len(self._lines) >= CACHE_LIMIT:
            self._lines.clear()  # bounded memory in a long-running worker; entries are recomputable
        self._lines[key] = out
        return out

    def usage(self, rule_id: str, cap: Cap, event: Event, line: int) -> CapUsage | None:
        rule = self._rule(rule_id)
        goods = _lines_of(event)
        if line >= len(goods):
            return None
        # Fast path: the evaluator asks for every goods line; a line this rule does not select is
        # ignored whatever we return, so answer it without touching the store.
        if self._cur is not event:
            self._cur, self._cur_sel = event, {}
        sel = self._cur_sel.get(rule_id)
        if sel is None:
            if self._cur_countries is None or self._cur_countries[0] is not event:
                self._cur_countries = (event, _event_countries(event))
            need = _required_countries(rule)
            if need and not need & self._cur_countries[1]:
                sel = self._cur_sel[rule_id] = set()
            else:
                sel = self._cur_sel[rule_id] = {n for n, _ in self.counted_lines(rule, cap, event)}
        if line not in sel:
            return _NOT_COUNTED
        this = convert(goods[line], cap.unit.value, rule_id)
        if this is None:
            return None
        at = event.occurred_at.astimezone(UTC)
        start = period_start(cap, at)
        me = (at, event.event_id, line)
        # Summed with math.fsum (exactly rounded, whatever the order): the order the store
        # returns rows in is not part of the total, so a replay that reads the same lines from
        # an index (engine.replay_ledger) gets the very same float.
        amounts: list[float] = []
        seen = False
        notified = self.notifications(rule, cap, at)
        seen_by_ref: dict[str, list[float]] = {}
        for o_at, other_id, ref, lines in self.counted_before(rule, cap, start, at):
            ref = ref if notified else None
            for n, amount in lines:
                if other_id == event.event_id:
                    seen = True
                if (o_at, other_id, n) < me and amount is not None:
                    amounts.append(amount)
                    if ref in notified:
                        seen_by_ref.setdefault(ref, []).append(amount)
        mine = _notification_ref(event) if notified else None
        if not seen:  # this event is not (yet) in the source: its own earlier lines still count
            for n, amount in self.counted_lines(rule, cap, event):
                if n < line and amount is not None:
                    amounts.append(amount)
                    if mine in notified:
                        seen_by_ref.setdefault(mine, []).append(amount)
        prior = math.fsum(amounts)
        # Notified quantities not (yet) matched by supplies seen citing them count too.
        for ref, amount in notified.items():
            used = math.fsum(seen_by_ref.get(ref, ()))
            prior += max(0.0, amount - used - (this if ref == mine else 0.0))
        return CapUsage(prior=prior, this=this)

    def counted_before(
        self, rule: Rule, cap: Cap, start: datetime, at: datetime
    ) -> Iterator[tuple[datetime, str, str | None, list[tuple[int, float | None]]]]:
        """(occurred_at, event_id, notification ref, counted lines) of the source's events in
        [start, at] as of ``as_of`` (any order: the caller sums exactly)."""
        for other in self.source.events_between(start, at, self.as_of):
            o_at = other.occurred_at.astimezone(UTC)
            if o_at < start:
                continue
            lines = self.counted_lines(rule, cap, other)
            if lines:
                yield o_at, other.event_id, _notification_ref(other), lines


@dataclass(frozen=True)
class Notified:
    """Approved notifications counting toward a cap in the period up to an event."""

    amount: float  # their notified quantities, in the cap's unit
    entries: int  # how many notifications
    total: float | None  # the running total after the line (supplies seen + notified), if known


def _rule_hs(rule: Rule) -> set[str]:
    return {p for n in rule.when.nodes() if isinstance(n, GoodsMatch) for p in n.hs}


def counts_toward(rule: Rule, entry: Any, rule_of: Callable[[str], Rule]) -> bool:
    """Does this (approved, notification) register entry count toward ``rule``'s cap?"""
    if entry.kind != "notification" or entry.regime != rule.regime:
        return False
    cites = {(c.resolution, c.paragraph) for c in rule.citations}
    if rule.id in entry.covers:
        return True
    for rid in entry.covers:
        try:
            other = rule_of(rid)
        except KeyError:
            continue
        if (other.citation.resolution, other.citation.paragraph) in cites:
            return True
    basis = entry.basis
    return basis is not None and (basis.resolution, basis.paragraph) in cites


def notified_amount(rule: Rule, cap: Cap, entry: Any) -> float:
    """The entry's notified quantity in the cap's unit (goods items the rule's HS prefixes
    can match; items whose quantity cannot be converted do not count)."""
    hs = _rule_hs(rule)
    total = 0.0
    for item in entry.goods:
        if item.quantity is None or item.unit is None:
            continue
        if (
            hs
            and item.hs
            and not any(p.startswith(h) or h.startswith(p) for p in item.hs for h in hs)
        ):
            continue
        goods = Goods(
            hs_code=item.hs[0] if item.hs else None,
            quantity=item.quantity,
            unit=Unit(item.unit),
        )
        amount = convert(goods, cap.unit.value, rule.id)
        if amount is not None:
            total += amount
    return total


def _notification_ref(event: Event) -> str | None:
    s = event.shipment
    return s.notification_ref.strip() if s is not None and s.notification_ref else None


def _lines_of(event: Event) -> Sequence[Goods]:
    if event.shipment is not None:
        return event.shipment.goods
    if event.vessel_movement is not None:
        return event.vessel_movement.cargo
    return ()


def default_caps() -> CapsLedger:
    """The process-wide ledger (engine.rules.evaluator.default_evaluator looks this factory up): the
    rules of the pack in Settings.rules_dir, totals from the events table."""
    from engine.rules.loader import load_pack

    return CapsLedger(load_pack().rules, StoredEvents())

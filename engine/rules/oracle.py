"""A second, independent evaluator: interprets the rule YAML (`when` tree) directly in Python.

It shares only the parsed rule objects and the fact builder's direction sets with the durable
path; it never reads compiler output or the precomputed match fields (``hs2/hs4/hs6``, ``kw__``,
``occurred``, ``exm__``/``ntf__``/``cap__``). HS prefixes are tested with ``str.startswith``,
keywords with regular expressions over the raw description, dates by comparing datetimes and UTC
calendar days, exemption statuses and cap totals by asking the register and the caps ledger.
The tests require it to agree with the durable path on every example and generated event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import EVAL_LEVELS, LEVEL_RANK, UNKNOWN_LEVEL
from engine.rules.exemptions import ExemptionLookup
from engine.rules.facts import Fact, FactBuilder, places
from engine.rules.loader import RulePack
from engine.rules.protocols import CapsProvider
from engine.rules.schema import (
    All,
    AnyOf,
    Area,
    CapUsage,
    Direction,
    FieldTest,
    GoodsMatch,
    Keyword,
    Node,
    Not,
    Occurred,
    PartyNamed,
    RefStatus,
    Rule,
)
from engine.rules.unknowns import subject_of_field


def _utc_day(t: datetime) -> date:
    return t.astimezone(UTC).date()


def on_or_after(t: datetime, bound: date | datetime) -> bool:
    """t is at/after a start bound (a date = from the start of that UTC day)."""
    return t >= bound if isinstance(bound, datetime) else _utc_day(t) >= bound


def before_end(t: datetime, bound: date | datetime) -> bool:
    """t is before an end bound (a date includes its whole UTC day; a datetime is exclusive)."""
    return t < bound if isinstance(bound, datetime) else _utc_day(t) <= bound


def before_start(t: datetime, bound: date | datetime) -> bool:
    return not on_or_after(t, bound)


def in_force(rule: Rule, t: datetime) -> bool:
    if not on_or_after(t, rule.effective_from):
        return False
    if rule.effective_to is not None and not before_end(t, rule.effective_to):
        return False
    return not any(on_or_after(t, w.from_) and before_end(t, w.to) for w in rule.suspended)


_KW_CACHE: dict[Keyword, re.Pattern[str]] = {}


def keyword_pattern(kw: Keyword) -> re.Pattern[str]:
    pat = _KW_CACHE.get(kw)
    if pat is None:
        body = r"[\W_]+".join(re.escape(w) for w in kw.words)
        tail = r"[^\W_]*" if kw.wildcard else ""
        pat = re.compile(r"(?<![^\W_])" + body + tail + r"(?![^\W_])")
        _KW_CACHE[kw] = pat
    return pat


def goods_match(node: GoodsMatch, fact: Fact, level: str) -> tuple[str, str] | None:
    """(how, what) when the goods line matches at ``level``: ("hs", prefix), ("short", prefix),
    ("keyword", text); else None. The best way first."""
    g = fact.payload["goods"]
    code = g.hs_code
    if code:
        for p in node.hs:
            if code.startswith(p):
                return ("hs", p)
        if LEVEL_RANK[level] <= LEVEL_RANK["medium"]:
            for p in node.hs:
                if len(code) < len(p) and p.startswith(code):
                    return ("short", p)
        return None
    if LEVEL_RANK[level] <= LEVEL_RANK["low"] and g.description:
        text = g.description.lower()
        for kw in node.keywords:
            if keyword_pattern(kw).search(text):
                return ("keyword", kw.text)
    return None


def field_holds(test: FieldTest, fact: Fact) -> bool:
    v = fact.fields.get(test.field)
    if test.op == "missing":
        return v is None
    if test.op == "ne":
        return v is None or v != test.value
    if v is None:
        return False
    if test.op == "eq":
        return v == test.value and isinstance(v, bool) == isinstance(test.value, bool)
    if test.op == "in":
        return any(v == x and isinstance(v, bool) == isinstance(x, bool) for x in test.value)
    return {
        "gt": v > test.value,
        "gte": v >= test.value,
        "lt": v < test.value,
        "lte": v <= test.value,
    }[test.op]


def name_matches(names: tuple[Keyword, ...], text: str | None) -> bool:
    if not text:
        return False
    low = text.lower()
    return any(keyword_pattern(k).search(low) for k in names)


def party_named_holds(node: PartyNamed, event: Event) -> bool:
    parties = event.shipment.parties if event.shipment is not None else []
    return any(
        (not node.roles or p.role in node.roles)
        and (node.country is None or p.country == node.country)
        and name_matches(node.names, p.name)
        for p in parties
    )


def area_holds(node: Area, event: Event, level: str) -> bool:
    """Named place in the area: every level; a place of that country without a name: low only."""
    s, m = event.shipment, event.vessel_movement
    where = (
        [p for p in (s.origin, *s.route, s.destination) if p is not None] if s is not None else []
    )
    if m is not None and m.port is not None:
        where.append(m.port)
    inside = [p for p in where if p.country == node.country]
    if any(name_matches(node.names, p.name) for p in inside):
        return True
    return level == "low" and any(not p.name for p in inside)


class Oracle:
    """``Oracle(pack, exemptions=None, caps=None).matches(event, hits) -> {(fact_key, rule_id): level}``."""

    def __init__(
        self,
        pack: RulePack,
        exemptions: ExemptionLookup | None = None,
        caps: CapsProvider | None = None,
    ) -> None:
        self.pack = pack
        self.exemptions = exemptions if exemptions is not None else pack.register
        self.caps = caps
        self._builder = FactBuilder()

    # -- leaves ----------------------------------------------------------------------------

    def ref_status(self, rule: Rule, kind: str, event: Event) -> str:
        s = event.shipment
        ref = (
            (s.exemption_ref if kind == "exemption" else s.notification_ref)
            if s is not None
            else None
        )
        return self.exemptions.status(ref, kind, rule.id, rule.regime, event.occurred_at, event)

    def cap_usage(self, rule: Rule, fact: Fact) -> CapUsage | None:
        if self.caps is None or rule.cap is None:
            return None
        return self.caps.usage(rule.id, rule.cap, fact.payload["event"], fact.payload["line"])

    def leaf(self, rule: Rule, node: Node, fact: Fact, level: str) -> bool:
        if isinstance(node, Direction):
            found = places(fact, node.axis)
            return any(c in found for c in node.countries)
        if isinstance(node, GoodsMatch):
            return goods_match(node, fact, level) is not None
        if isinstance(node, FieldTest):
            return field_holds(node, fact)
        if isinstance(node, RefStatus):
            return self.ref_status(rule, node.kind, fact.payload["event"]) in node.statuses
        if isinstance(node, Occurred):
            t = fact.payload["occurred_at"]
            return before_start(t, node.at) if node.op == "before" else on_or_after(t, node.at)
        if isinstance(node, PartyNamed):
            return party_named_holds(node, fact.payload["event"])
        if isinstance(node, Area):
            return area_holds(node, fact.payload["event"], level)
        raise TypeError(f"not a leaf: {node!r}")

    def undecided(self, node: Node, fact: Fact) -> bool:
        """The leaf reads a value the event left unknown (three-valued: neither true nor false)."""
        unknown = fact.payload.get("unknown")
        if not unknown:
            return False
        if isinstance(node, Direction):
            return node.axis in unknown
        if isinstance(node, GoodsMatch):
            return "hs" in unknown
        if isinstance(node, FieldTest):
            return subject_of_field(node.field) in unknown
        if isinstance(node, RefStatus):
            return ("has_" + node.kind + "_ref") in unknown
        return False

    def holds(self, rule: Rule, node: Node, fact: Fact, level: str, neg: bool = False) -> bool:
        """At the unknown level an undecided leaf counts as possibly true whatever its polarity
        (``neg``: under an odd number of negations): the Kleene "may hold" of the condition."""
        if isinstance(node, All):
            return all(self.holds(rule, n, fact, level, neg) for n in node.items)
        if isinstance(node, AnyOf):
            return any(self.holds(rule, n, fact, level, neg) for n in node.items)
        if isinstance(node, Not):
            return not self.holds(rule, node.item, fact, level, not neg)
        if level == UNKNOWN_LEVEL:
            if self.undecided(node, fact):
                return not neg
            # goods classification as loose as it can be for the rule (see compiler._undecided)
            return self.leaf(rule, node, fact, "high" if neg else "low")
        return self.leaf(rule, node, fact, level)

    # -- rules -----------------------------------------------------------------------------

    def rule_level(self, rule: Rule, fact: Fact) -> str | None:
        """The highest level at which the rule matches the fact, or None."""
        event: Event = fact.payload["event"]
        if fact.kind != rule.when.fact or event.event_type.value not in rule.applies_to:
            return None
        t = event.occurred_at
        if not in_force(rule, t):
            return None
        if rule.wind_down is not None:
            wd = rule.wind_down
            if before_end(t, wd.until) and self.ref_status(rule, wd.requires, event) == "valid":
                return None
        usage = self.cap_usage(rule, fact) if rule.cap is not None else None
        for level in EVAL_LEVELS:
            if level == UNKNOWN_LEVEL and not fact.payload.get("has_unknown"):
                break  # the event left nothing unknown: no unknown level (v1 decisions as before)
            if rule.cap is not None:
                exceeded = usage is not None and usage.prior + usage.this > rule.cap.amount
                unknown_ok = (
                    usage is None
                    and LEVEL_RANK[level] <= LEVEL_RANK["low"]
                    and rule.cap.on_unknown == "flag"
                )
                if not (exceeded or unknown_ok):
                    continue
            if self.holds(rule, rule.when.tree(), fact, level):
                return level
        return None

    def facts(
        self, event: Event, hits: Sequence[ScreeningHit] = (), prefix: str = ""
    ) -> list[Fact]:
        return self._builder.build(event, hits, prefix=prefix)

    def matches(
        self, event: Event, hits: Sequence[ScreeningHit] = (), prefix: str = ""
    ) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        for fact in self.facts(event, hits, prefix):
            for rule in self.pack.rules:
                level = self.rule_level(rule, fact)
                if level is not None:
                    out[(fact.key, rule.id)] = level
        return out

    def fired_rules(self, event: Event, hits: Sequence[ScreeningHit] = ()) -> set[str]:
        return {rule_id for (_k, rule_id) in self.matches(event, hits)}


def explain_leaf(oracle: Oracle, rule: Rule, node: Node, fact: Fact, level: str) -> Any:
    """Details of a true leaf for evidence (used by the evaluator's explanation only)."""
    if isinstance(node, GoodsMatch):
        return goods_match(node, fact, level)
    return oracle.leaf(rule, node, fact, level)

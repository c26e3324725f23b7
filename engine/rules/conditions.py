"""What a rule condition means, written once (rules/README.md §4, §6 and §13).

Two evaluators decide: durable_rules, on the patterns of ``compiler.py`` over the fields the fact
builder precomputes, and the oracle (``oracle.py``), which walks the ``when`` tree. Every other
reader of a condition calls the tests below: the oracle's leaves, the caps ledger (which lines
count toward a cap), the evidence of a violation (which leaves hold, and where), and the fact
builder's precomputed name fields. The semantics are those the compiler has:

- equality: a field holds values of one type (the catalogue's, enforced by the schema), and a
  bool equals only a bool, never 1 or 0 (as in durable_rules, where JSON true is not 1);
- HS codes: a declared code within a prefix matches at every level, a shorter code that begins
  a prefix from ``medium`` down; keywords (and names) are phrases over the normalised text
  (``facts.normalise_text``: lower case, runs of letters and digits), on lines without a code,
  at ``low``;
- dates: a date bound starts at 00:00 UTC of that day and an end date includes its whole UTC day
  (``schema.start_utc`` / ``end_utc``); a datetime bound is the exact instant;
- direction: the sets of ``facts.resolve_direction`` (the one walk of an event's places);
- unknown values (three-valued, §13): a leaf is *undecided* when it reads a subject the event left
  unknown (``leaf_subjects``); at the unknown level it may hold in either polarity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from re import Pattern
from typing import Any

from engine.models.events import Event, Goods, Place
from engine.rules.catalogue import LEVEL_RANK
from engine.rules.facts import Fact, keyword_in, normalise_text, places
from engine.rules.schema import (
    Area,
    Direction,
    FieldTest,
    GoodsMatch,
    Keyword,
    Node,
    Occurred,
    PartyNamed,
    RefStatus,
    Rule,
    end_utc,
    start_utc,
)
from engine.rules.unknowns import AREA_SUBJECT, PARTY_NAME_SUBJECT, subject_of_field

# -- values ---------------------------------------------------------------------------------------


def same(v: Any, x: Any) -> bool:
    """Equality of a fact value and a condition value: a bool equals only a bool."""
    return v == x and isinstance(v, bool) == isinstance(x, bool)


def member(v: Any, values: frozenset[Any]) -> bool:
    """``v`` (a value, or a frozenset of the values over an event's lines or parties) is one of
    ``values``. Set membership is ``same`` here: the values of one field have one type (schema),
    so no bool meets a number."""
    return (not values.isdisjoint(v)) if isinstance(v, frozenset) else (v in values)


def field_holds(test: FieldTest, fields: dict[str, Any]) -> bool:
    """A ``where`` test on a fact's fields (absent = missing: only ``missing`` and ``ne`` hold)."""
    v = fields.get(test.field)
    if test.op == "missing":
        return v is None
    if test.op == "ne":
        return v is None or not same(v, test.value)
    if v is None:
        return False
    if test.op == "eq":
        return same(v, test.value)
    if test.op == "in":
        return any(same(v, x) for x in test.value)
    if test.op == "gt":
        return bool(v > test.value)
    if test.op == "gte":
        return bool(v >= test.value)
    if test.op == "lt":
        return bool(v < test.value)
    return bool(v <= test.value)


# -- dates ----------------------------------------------------------------------------------------


def on_or_after(t: datetime, bound: Any) -> bool:
    return t >= start_utc(bound)


def before_end(t: datetime, bound: Any) -> bool:
    return t < end_utc(bound)


def in_force(rule: Rule, t: datetime) -> bool:
    """The rule's dates hold at ``t``: from ``effective_from``, to ``effective_to``, outside every
    ``suspended`` window (wind-down is a condition on the register, see the evaluators)."""
    if t < start_utc(rule.effective_from):
        return False
    if rule.effective_to is not None and t >= end_utc(rule.effective_to):
        return False
    return not any(start_utc(w.from_) <= t < end_utc(w.to) for w in rule.suspended)


def occurred_holds(node: Occurred, t: datetime) -> bool:
    return not on_or_after(t, node.at) if node.op == "before" else on_or_after(t, node.at)


# -- direction ------------------------------------------------------------------------------------


def direction_holds(node: Direction, fact: Fact) -> bool:
    """One of the leaf's countries is in the fact's to / from / touches set (a goods line's
    from-set includes its own origin_country)."""
    found = places(fact, node.axis)
    return any(c in found for c in node.countries)


# -- goods ----------------------------------------------------------------------------------------


def goods_match(node: GoodsMatch, goods: Goods, level: str) -> tuple[str, str] | None:
    """(how, what) when the goods line matches at ``level``: ("hs", prefix), ("short", prefix),
    ("keyword", text); else None. The best way first."""
    code = goods.hs_code
    if code:
        for p in node.hs:
            if code.startswith(p):
                return ("hs", p)
        if LEVEL_RANK[level] <= LEVEL_RANK["medium"]:
            for p in node.hs:
                if len(code) < len(p) and p.startswith(code):
                    return ("short", p)
        return None
    if LEVEL_RANK[level] <= LEVEL_RANK["low"] and goods.description and node.keywords:
        norm = normalise_text(goods.description)
        for kw in node.keywords:
            if keyword_in(kw, norm):
                return ("keyword", kw.text)
    return None


# -- names: party_named and area ------------------------------------------------------------------


def names_match(
    names: tuple[Keyword, ...], text: str | None, pattern: Pattern[str] | None = None
) -> bool:
    """One of the phrases is in ``text`` (``pattern``: the same test compiled for all phrases of a
    leaf at once, named.names_pattern; ``text`` is then already normalised)."""
    if not text:
        return False
    if pattern is not None:
        return pattern.search(text) is not None
    norm = normalise_text(text)
    return any(keyword_in(k, norm) for k in names)


def named_parties(
    node: PartyNamed,
    event: Event,
    norms: dict[int, str] | None = None,
    pattern: Pattern[str] | None = None,
) -> Iterator[int]:
    """Indices of the shipment parties the leaf names (role and country as the leaf asks; an
    unnamed party matches no name). ``norms`` caches normalised names across the leaves of one
    event, with ``pattern`` (named.names_pattern of the leaf's names)."""
    s = event.shipment
    if s is None:
        return
    for i, p in enumerate(s.parties):
        if node.roles and p.role not in node.roles:
            continue
        if node.country is not None and p.country != node.country:
            continue
        if not p.name:
            continue
        if pattern is None:
            if names_match(node.names, p.name):
                yield i
            continue
        norm = norms.get(i) if norms is not None else None
        if norm is None:
            norm = normalise_text(p.name)
            if norms is not None:
                norms[i] = norm
        if pattern.search(norm) is not None:
            yield i


def party_named(
    node: PartyNamed,
    event: Event,
    norms: dict[int, str] | None = None,
    pattern: Pattern[str] | None = None,
) -> bool:
    return next(named_parties(node, event, norms, pattern), None) is not None


def event_places(event: Event) -> Iterator[tuple[str, Place]]:
    """(path, place) of every place of an event: origin, route, destination, port."""
    s = event.shipment
    if s is not None:
        if s.origin is not None:
            yield "shipment.origin", s.origin
        for i, p in enumerate(s.route):
            yield f"shipment.route[{i}]", p
        if s.destination is not None:
            yield "shipment.destination", s.destination
    m = event.vessel_movement
    if m is not None and m.port is not None:
        yield "vessel_movement.port", m.port


def area_places(
    node: Area, event: Event, pattern: Pattern[str] | None = None
) -> Iterator[tuple[str, Place, str]]:
    """(path, place, "yes" | "unknown") of the places in the leaf's country that carry one of its
    names ("yes") or no name at all ("unknown": it may be in the area)."""
    for path, place in event_places(event):
        if place.country != node.country:
            continue
        if not place.name:
            yield path, place, "unknown"
        elif names_match(
            node.names, normalise_text(place.name) if pattern else place.name, pattern
        ):
            yield path, place, "yes"


def area_status(node: Area, event: Event, pattern: Pattern[str] | None = None) -> str | None:
    """ "yes" when a place in the country carries a name of the area, "unknown" when a place there
    has no name, else None. The leaf holds on "yes" at every level, on "unknown" at ``low``."""
    status = None
    for _path, _place, found in area_places(node, event, pattern):
        if found == "yes":
            return "yes"
        status = "unknown"
    return status


def area_holds(status: str | None, level: str) -> bool:
    return status == "yes" or (status == "unknown" and level == "low")


# -- a leaf --------------------------------------------------------------------------------------


def leaf_holds(node: Node, fact: Fact, level: str, ref_status: Callable[[RefStatus], bool]) -> bool:
    """A condition leaf on a fact at a confidence level (``ref_status`` answers the register
    leaves: the evaluators ask the register, the caps ledger counts every status)."""
    if isinstance(node, Direction):
        return direction_holds(node, fact)
    if isinstance(node, GoodsMatch):
        return goods_match(node, fact.payload["goods"], level) is not None
    if isinstance(node, FieldTest):
        return field_holds(node, fact.fields)
    if isinstance(node, RefStatus):
        return ref_status(node)
    if isinstance(node, Occurred):
        return occurred_holds(node, fact.payload["occurred_at"])
    if isinstance(node, PartyNamed):
        return party_named(node, fact.payload["event"])
    if isinstance(node, Area):
        return area_holds(area_status(node, fact.payload["event"]), level)
    raise TypeError(f"not a condition leaf: {node!r}")


# -- unknown values (three-valued) ---------------------------------------------------------------


def leaf_subjects(node: Node) -> tuple[str, ...]:
    """The unknown subjects (engine.rules.unknowns) a condition leaf reads."""
    if isinstance(node, Direction):
        return (node.axis,)
    if isinstance(node, GoodsMatch):
        return ("hs",)
    if isinstance(node, FieldTest):
        subj = subject_of_field(node.field)
        return (subj,) if subj else ()
    if isinstance(node, RefStatus):
        return ("has_exemption_ref" if node.kind == "exemption" else "has_notification_ref",)
    if isinstance(node, PartyNamed):
        return (PARTY_NAME_SUBJECT,)
    if isinstance(node, Area):
        return (AREA_SUBJECT,)
    return ()


def undecided(node: Node, unknown: frozenset[str] | set[str]) -> bool:
    """The leaf reads a value the event left unknown: neither true nor false."""
    return bool(unknown) and any(s in unknown for s in leaf_subjects(node))

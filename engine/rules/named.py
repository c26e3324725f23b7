"""Name tests of the rule vocabulary (rules/README.md §4): ``party_named`` and ``area``.

A measure is sometimes drawn by WHO receives the goods (the Somali federal forces are outside the
2713 embargo; jet fuel for an armed force in Libya is military materiel) or by WHERE inside a
country they go (Darfur, not all of Sudan). Both are properties of the event, not of one fact, so
the fact builder computes them once per event and copies the result onto every fact as a
precomputed field (``pn__<hash>``: true; ``area__<hash>``: "yes" or "unknown"), which the
compiled durable patterns test by equality. The oracle does not use this module: it matches the
raw names itself (engine/rules/oracle.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from engine.models.events import Event, Place
from engine.rules.facts import normalise_text
from engine.rules.schema import Area, Keyword, Node, PartyNamed


def named_field(node: PartyNamed | Area) -> str:
    """Durable-safe field name of one leaf (same leaf text = same field, across rules)."""
    if isinstance(node, PartyNamed):
        key = f"{sorted(node.roles)}|{node.country}|{sorted(k.text for k in node.names)}"
        return "pn__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    key = f"{node.country}|{sorted(k.text for k in node.names)}"
    return "area__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1024)
def _names_pattern(names: tuple[Keyword, ...]) -> re.Pattern[str]:
    """One search over normalised text (' w w ') for all phrases of a leaf: the same test as
    ``keyword_in`` for each of them (a phrase ends at a word boundary unless it has a ``*``)."""
    alts = (re.escape(" ".join(k.words)) + ("" if k.wildcard else " ") for k in names)
    return re.compile(" (?:" + "|".join(alts) + ")")


def _contains(
    names: tuple[Keyword, ...], norm: str, pattern: re.Pattern[str] | None = None
) -> bool:
    return (pattern or _names_pattern(names)).search(norm) is not None


def party_named(
    node: PartyNamed,
    event: Event,
    norms: dict[int, str] | None = None,
    pattern: re.Pattern[str] | None = None,
) -> bool:
    """``norms``: normalised party names by index, shared by the leaves of one event;
    ``pattern``: the leaf's compiled names (prepared once per pack)."""
    s = event.shipment
    if s is None:
        return False
    for i, p in enumerate(s.parties):
        if node.roles and p.role not in node.roles:
            continue
        if node.country is not None and p.country != node.country:
            continue
        if not p.name:
            continue  # an unnamed party (data-quality finding) matches no name
        if norms is None:
            norm = normalise_text(p.name)
        else:
            norm = norms.get(i) or norms.setdefault(i, normalise_text(p.name))
        if _contains(node.names, norm, pattern):
            return True
    return False


def event_places(event: Event) -> Iterator[Place]:
    s = event.shipment
    if s is not None:
        yield from (p for p in (s.origin, *s.route, s.destination) if p is not None)
    m = event.vessel_movement
    if m is not None and m.port is not None:
        yield m.port


def area_status(node: Area, event: Event, pattern: re.Pattern[str] | None = None) -> str | None:
    """The area test for one event: "yes" when a place in the country carries one of the names,
    "unknown" when a place there has no name (it may be in the area), else None."""
    unknown = False
    for place in event_places(event):
        if place.country != node.country:
            continue
        if not place.name:
            unknown = True
            continue
        if _contains(node.names, normalise_text(place.name), pattern):
            return "yes"
    return "unknown" if unknown else None


Prepared = tuple[PartyNamed | Area, str, re.Pattern[str]]  # leaf, its field, its names' pattern


def named_nodes(nodes: Iterable[Node]) -> list[Prepared]:
    """The pack's distinct name leaves, each with its field name and compiled pattern."""
    out: dict[str, Prepared] = {}
    for n in nodes:
        if isinstance(n, PartyNamed | Area):
            field = named_field(n)
            if field not in out:
                out[field] = (n, field, _names_pattern(n.names))
    return list(out.values())


def named_fields(prepared: Iterable[Prepared], event: Event) -> dict[str, Any]:
    """The precomputed fields of one event (absent = the test does not hold)."""
    out: dict[str, Any] = {}
    norms: dict[int, str] = {}
    for n, field, pattern in prepared:
        if isinstance(n, PartyNamed):
            if party_named(n, event, norms, pattern):
                out[field] = True
        else:
            status = area_status(n, event, pattern)
            if status is not None:
                out[field] = status
    return out

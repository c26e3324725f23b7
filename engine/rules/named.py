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
from collections.abc import Iterable, Iterator
from typing import Any

from engine.models.events import Event, Place
from engine.rules.facts import keyword_in, normalise_text
from engine.rules.schema import Area, Node, PartyNamed


def named_field(node: PartyNamed | Area) -> str:
    """Durable-safe field name of one leaf (same leaf text = same field, across rules)."""
    if isinstance(node, PartyNamed):
        key = f"{sorted(node.roles)}|{node.country}|{sorted(k.text for k in node.names)}"
        return "pn__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    key = f"{node.country}|{sorted(k.text for k in node.names)}"
    return "area__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def party_named(node: PartyNamed, event: Event) -> bool:
    s = event.shipment
    if s is None:
        return False
    for p in s.parties:
        if node.roles and p.role not in node.roles:
            continue
        if node.country is not None and p.country != node.country:
            continue
        norm = normalise_text(p.name)
        if any(keyword_in(k, norm) for k in node.names):
            return True
    return False


def event_places(event: Event) -> Iterator[Place]:
    s = event.shipment
    if s is not None:
        yield s.origin
        yield from s.route
        yield s.destination
    m = event.vessel_movement
    if m is not None and m.port is not None:
        yield m.port


def area_status(node: Area, event: Event) -> str | None:
    """The area test for one event: "yes" when a place in the country carries one of the names,
    "unknown" when a place there has no name (it may be in the area), else None."""
    unknown = False
    for place in event_places(event):
        if place.country != node.country:
            continue
        if not place.name:
            unknown = True
            continue
        norm = normalise_text(place.name)
        if any(keyword_in(k, norm) for k in node.names):
            return "yes"
    return "unknown" if unknown else None


def named_nodes(nodes: Iterable[Node]) -> list[PartyNamed | Area]:
    out: dict[str, PartyNamed | Area] = {}
    for n in nodes:
        if isinstance(n, PartyNamed | Area):
            out.setdefault(named_field(n), n)
    return list(out.values())


def named_fields(nodes: Iterable[PartyNamed | Area], event: Event) -> dict[str, Any]:
    """The precomputed fields of one event (absent = the test does not hold)."""
    out: dict[str, Any] = {}
    for n in nodes:
        if isinstance(n, PartyNamed):
            if party_named(n, event):
                out[named_field(n)] = True
        else:
            status = area_status(n, event)
            if status is not None:
                out[named_field(n)] = status
    return out

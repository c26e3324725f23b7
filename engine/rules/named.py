"""Name tests of the rule vocabulary (rules/README.md §4): ``party_named`` and ``area``.

A measure is sometimes drawn by WHO receives the goods (the Somali federal forces are outside the
2713 embargo; jet fuel for an armed force in Libya is military materiel) or by WHERE inside a
country they go (Darfur, not all of Sudan). Both are properties of the event, not of one fact, so
the fact builder computes them once per event and copies the result onto every fact as a
precomputed field (``pn__<hash>``: true; ``area__<hash>``: "yes" or "unknown"), which the
compiled durable patterns test by equality. The tests themselves are engine/rules/conditions.py
(``party_named``, ``area_status``), which the oracle, the caps ledger and the evidence call too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from engine.models.events import Event
from engine.rules.conditions import area_status, party_named
from engine.rules.schema import Area, Keyword, Node, PartyNamed


def named_field(node: PartyNamed | Area) -> str:
    """Durable-safe field name of one leaf (same leaf text = same field, across rules)."""
    if isinstance(node, PartyNamed):
        key = f"{sorted(node.roles)}|{node.country}|{sorted(k.text for k in node.names)}"
        return "pn__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    key = f"{node.country}|{sorted(k.text for k in node.names)}"
    return "area__" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1024)
def names_pattern(names: tuple[Keyword, ...]) -> re.Pattern[str]:
    """One search over normalised text (' w w ') for all phrases of a leaf: the same test as
    ``facts.keyword_in`` for each of them (a phrase ends at a word boundary unless it has a ``*``)."""
    alts = (re.escape(" ".join(k.words)) + ("" if k.wildcard else " ") for k in names)
    return re.compile(" (?:" + "|".join(alts) + ")")


Prepared = tuple[PartyNamed | Area, str, re.Pattern[str]]  # leaf, its field, its names' pattern


def named_nodes(nodes: Iterable[Node]) -> list[Prepared]:
    """The pack's distinct name leaves, each with its field name and compiled pattern."""
    out: dict[str, Prepared] = {}
    for n in nodes:
        if isinstance(n, PartyNamed | Area):
            field = named_field(n)
            if field not in out:
                out[field] = (n, field, names_pattern(n.names))
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

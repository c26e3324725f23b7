"""Event -> flat facts (rules/README.md §3 and §6).

A fact is ``fields`` (flat scalars: what durable_rules matches on) plus ``payload`` (nested raw
objects and provenance paths, for the oracle and for evidence). The payload never goes into the
rule engine; the catalogue's field names never include ``id``, ``sid`` or ``$...`` (which the
durable backend refuses).

Direction: every goods line gets a to-set and a from-set of countries, each country mapped to the
event paths that put it there (``{"KP": ["shipment.origin.country"]}``); non-goods facts get the
event-level sets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.models.events import Event, Goods
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import LISTED_FIELDS
from engine.rules.schema import Keyword, Node
from engine.rules.unknowns import (
    MARKER,
    SUBJECTS,
    Unknowns,
    subjects_of_fact,
    unknown_field,
    unknowns_of,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

Places = dict[str, list[str]]  # country -> paths


def epoch_us(dt: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding at boundaries)."""
    return (dt - EPOCH) // _US


def keyword_field(kw: Keyword) -> str:
    return "kw__" + hashlib.sha1(kw.text.encode("utf-8")).hexdigest()[:12]


def normalise_text(text: str) -> str:
    """' word word ... ' : lower case, runs of letters/digits only, padded for phrase search."""
    words = [w for w in re.split(r"[\W_]+", text.lower()) if w]
    return " " + " ".join(words) + " "


def keyword_in(kw: Keyword, norm: str) -> bool:
    phrase = " " + " ".join(kw.words)
    return (phrase in norm) if kw.wildcard else (phrase + " " in norm)


@dataclass(slots=True)
class Fact:
    key: str
    kind: str
    fields: dict[str, Any]
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.fields, "payload": self.payload}


def _add(places: Places, country: str | None, path: str) -> None:
    if country:
        places.setdefault(country, []).append(path)


def _merge(*sets: Places) -> Places:
    out: Places = {}
    for s in sets:
        for c, paths in s.items():
            out.setdefault(c, []).extend(p for p in paths if p not in out.get(c, []))
    return out


def _flag_fields(prefix: str, places: Places, fields: dict[str, Any]) -> None:
    for c in places:
        fields[prefix + c] = True


@dataclass
class _Direction:
    to: Places
    from_: Places
    touches: Places
    line_from: list[Places]  # per goods line: the extra from (goods.origin_country)


def _goods_lines(event: Event) -> tuple[str, Sequence[Goods]]:
    if event.shipment is not None:
        return "shipment.goods", event.shipment.goods
    if event.vessel_movement is not None:
        return "vessel_movement.cargo", event.vessel_movement.cargo
    return "", ()


def _walk_direction(event: Event, to: Any, frm: Any, touches: Any, add: Any) -> None:
    """The one reading of an event's direction (rules/README.md §6): ``add(where, country,
    path)`` for each country the event puts in the to-set, the (event-level, without the goods
    lines' origins) from-set and the touches-set. Used with provenance (resolve_direction) and
    without (direction_sets, the hot path)."""
    s = event.shipment
    if s is not None:
        if s.origin is not None:
            add(frm, s.origin.country, "shipment.origin.country")
            add(touches, s.origin.country, "shipment.origin.country")
        for i, p in enumerate(s.route):
            if p.country:
                path = f"shipment.route[{i}].country"
                add(frm, p.country, path)
                add(to, p.country, path)
                add(touches, p.country, path)
        if s.destination is not None:
            add(to, s.destination.country, "shipment.destination.country")
            add(touches, s.destination.country, "shipment.destination.country")
    m = event.vessel_movement
    if m is not None:
        own = m.vessel.flag if m.vessel else None
        own_path = "vessel_movement.vessel.flag"
        port = m.port.country if m.port else None
        port_path = "vessel_movement.port.country"
        add(touches, port, port_path)
        op = m.cargo_operation
        if m.kind == "port_call":
            if op == "load":
                add(to, own, own_path)
                add(frm, port, port_path)
            elif op == "discharge":
                add(to, port, port_path)
                add(frm, own, own_path)
        elif m.kind == "ship_to_ship":
            # a transfer (or an unknown operation) goes both ways
            other = m.counterpart_vessel.flag if m.counterpart_vessel else None
            other_path = "vessel_movement.counterpart_vessel.flag"
            if op != "discharge":
                add(to, own, own_path)
                add(frm, other, other_path)
            if op != "load":
                add(to, other, other_path)
                add(frm, own, own_path)


def resolve_direction(event: Event) -> _Direction:
    """The direction sets with provenance (country -> event paths), for evidence and the oracle."""
    to: Places = {}
    frm: Places = {}
    touches: Places = {}
    base, lines = _goods_lines(event)
    line_from: list[Places] = []
    for i, g in enumerate(lines):
        extra: Places = {}
        _add(extra, g.origin_country, f"{base}[{i}].origin_country")
        line_from.append(extra)
    _walk_direction(event, to, frm, touches, _add_to)
    event_from = _merge(frm, *line_from)
    return _Direction(
        to=to, from_=event_from, touches=touches, line_from=[_merge(frm, x) for x in line_from]
    )


def _add_to(places: Places, country: str | None, path: str) -> None:
    if country:
        paths = places.setdefault(country, [])
        if path not in paths:
            paths.append(path)


def _add_country(countries: set[str], country: str | None, _path: str) -> None:
    if country:
        countries.add(country)


def context_fields(event: Event) -> dict[str, Any]:
    """The context fields of every fact (catalogue.CONTEXT_FIELDS); missing values are left out."""
    f: dict[str, Any] = {"event_type": event.event_type.value}
    s, m, e = event.shipment, event.vessel_movement, event.entity
    vessel = None
    if s is not None:
        if s.origin is not None and s.origin.country:
            f["origin_country"] = s.origin.country
        if s.destination is not None and s.destination.country:
            f["destination_country"] = s.destination.country
        if s.mode:
            f["mode"] = s.mode
        vessel = s.vessel
        f["has_exemption_ref"] = bool(s.exemption_ref)
        f["has_notification_ref"] = bool(s.notification_ref)
    else:
        f["has_exemption_ref"] = False
        f["has_notification_ref"] = False
    if m is not None:
        vessel = m.vessel
        if m.kind:
            f["movement_kind"] = m.kind
        if m.port is not None and m.port.country:
            f["port_country"] = m.port.country
        if m.cargo_operation:
            f["cargo_operation"] = m.cargo_operation
        if m.counterpart_vessel is not None and m.counterpart_vessel.flag:
            f["counterpart_flag"] = m.counterpart_vessel.flag
        if m.previous is not None and m.previous.flag:
            f["previous_flag"] = m.previous.flag
    if vessel is not None:
        if vessel.flag:
            f["vessel_flag"] = vessel.flag
        if vessel.imo:
            f["vessel_imo"] = vessel.imo
    if e is not None:
        for name, value in (
            ("entity_kind", e.kind),
            ("entity_action", e.action),
            ("entity_country", e.country),
            ("entity_nationality", e.nationality),
            ("entity_flag", e.flag),
        ):
            if value:
                f[name] = value
    return f


def direction_sets(event: Event) -> tuple[set[str], set[str], set[str], list[str | None]]:
    """resolve_direction without provenance (the hot path): to, from (event level), touches, and
    each goods line's origin_country. A line's from-set is the event's from-set plus its origin."""
    to: set[str] = set()
    frm: set[str] = set()
    touches: set[str] = set()
    _walk_direction(event, to, frm, touches, _add_country)
    _base, lines = _goods_lines(event)
    return to, frm, touches, [g.origin_country for g in lines]


def places(fact: Fact, axis: str) -> Places:
    """Provenance of a fact's direction set (country -> event paths), computed on demand."""
    shared = fact.payload["shared"]
    d = shared.get("dir")
    if d is None:
        d = shared["dir"] = resolve_direction(fact.payload["event"])
    if axis == "to":
        return d.to
    if axis == "touches":
        return d.touches
    line = fact.payload.get("line")
    return d.line_from[line] if fact.kind == "goods" and line is not None else d.from_


class FactBuilder:
    """Builds the facts of events.

    ``kinds`` limits which fact kinds are built; ``keywords`` are the pack's description keywords
    (flags only for lines without hs_code); ``fields`` (optional) limits the emitted fields to
    those some compiled pattern reads, which keeps the facts sent to the engine small.
    """

    def __init__(
        self,
        keywords: Iterable[Keyword] = (),
        kinds: Iterable[str] = ("goods", "party", "hit", "event"),
        fields: Iterable[str] | None = None,
        named: Iterable[Node] = (),
    ) -> None:
        # named.py reads this module's text helpers
        from engine.rules.named import named_nodes, names_pattern

        self.named = named_nodes(named)
        # The keyword flags use the compiled phrase test (named.names_pattern), not keyword_in,
        # which the oracle's goods leaf reads: two writings of one test, so the agreement of the
        # two evaluators also checks the phrase matching (and the compiled form is faster).
        self.keywords = [
            (keyword_field(kw), names_pattern((kw,)))
            for kw in sorted(set(keywords), key=lambda k: k.text)
        ]
        self.kinds = frozenset(kinds)
        self.only = frozenset(fields) if fields is not None else None

        def _w(*names: str) -> bool:
            return self.only is None or any(n in self.only for n in names)

        self._want = {
            "line": _w("line"), "hs_missing": _w("hs_missing"), "hs_code": _w("hs_code"), "hs2": _w("hs2"), "hs4": _w("hs4"), "hs6": _w("hs6"),
            "quantity": _w("quantity"), "unit": _w("unit"), "goods_origin_country": _w("goods_origin_country"),
            "value": _w("value_amount", "value_currency"),
        }  # fmt: skip
        if self.only is None:
            self._flags: dict[str, frozenset[str] | None] = {
                "to__": None,
                "from__": None,
                "touches__": None,
            }
        else:
            self._flags = {
                p: frozenset(f[len(p) :] for f in self.only if f.startswith(p))
                for p in ("to__", "from__", "touches__")
            }

    def _flag(self, prefix: str, countries: Iterable[str | None], out: dict[str, Any]) -> None:
        allowed = self._flags[prefix]
        for c in countries:
            if c and (allowed is None or c in allowed):
                out[prefix + c] = True

    def build(
        self,
        event: Event,
        hits: Sequence[ScreeningHit] = (),
        prefix: str = "",
        kinds: Iterable[str] | None = None,
        sets: tuple[set[str], set[str], set[str], list[str | None]] | None = None,
        unknowns: Unknowns | None = None,
    ) -> list[Fact]:
        """Facts of one event; ``kinds`` narrows this call further, ``sets`` = direction_sets(event),
        ``unknowns`` = unknowns_of(event) (computed here when not given)."""
        prefix = prefix or event.event_id
        build_kinds = self.kinds if kinds is None else self.kinds & frozenset(kinds)
        ctx = context_fields(event)
        ctx["occurred"] = epoch_us(event.occurred_at)
        if unknowns is None:
            unknowns = unknowns_of(event)
        if unknowns:
            ctx[MARKER] = True
        for h in hits:  # listed_<regime> context fields (rule pack: targeted arms embargoes)
            name = LISTED_FIELDS.get(h.list_regime)
            if name:
                ctx[name] = True
        if self.named:  # party_named / area leaves: event-level, copied onto every fact
            from engine.rules.named import named_fields

            ctx.update(named_fields(self.named, event))
        only = self.only
        if only is not None:
            ctx = {k: v for k, v in ctx.items() if k in only}
        to, frm, touches, origins = sets if sets is not None else direction_sets(event)
        shared: dict[str, Any] = {}
        base_payload = {
            "event": event,
            "occurred_at": event.occurred_at,
            "shared": shared,
            "unknown": unknowns.event,
            "has_unknown": bool(unknowns),
        }
        unk_fields = (
            [(s, unknown_field(s)) for s in SUBJECTS if only is None or unknown_field(s) in only]
            if unknowns
            else []
        )

        def mark(f: dict[str, Any], subjects: frozenset[str]) -> None:
            # Every unk__ field the pack reads, true or false: negated leaves test them for false.
            for subj, name in unk_fields:
                f[name] = subj in subjects

        facts: list[Fact] = []
        event_flags: dict[str, Any] = {}
        self._flag("to__", to, event_flags)
        self._flag("from__", frm, event_flags)
        self._flag("from__", origins, event_flags)
        self._flag("touches__", touches, event_flags)

        if "goods" in build_kinds:
            base, lines = _goods_lines(event)
            line_flags: dict[str, Any] = {}
            self._flag("to__", to, line_flags)
            self._flag("from__", frm, line_flags)
            self._flag("touches__", touches, line_flags)
            kws = self.keywords
            want = self._want
            for i, g in enumerate(lines):
                f = {**ctx, **line_flags, "kind": "goods"}
                if want["line"]:
                    f["line"] = float(i)
                if want["hs_missing"]:
                    f["hs_missing"] = not g.hs_code
                if origins[i]:
                    self._flag("from__", (origins[i],), f)
                code = g.hs_code
                if code:
                    if want["hs_code"]:
                        f["hs_code"] = code
                    if want["hs2"]:
                        f["hs2"] = code[:2]
                    if want["hs4"] and len(code) >= 4:
                        f["hs4"] = code[:4]
                    if want["hs6"] and len(code) >= 6:
                        f["hs6"] = code[:6]
                elif g.description and kws:
                    norm = normalise_text(g.description)
                    for name, pattern in kws:
                        if pattern.search(norm) is not None:
                            f[name] = True
                if g.quantity is not None and want["quantity"]:
                    f["quantity"] = float(g.quantity)
                if g.unit is not None and want["unit"]:
                    f["unit"] = g.unit.value
                if g.origin_country and want["goods_origin_country"]:
                    f["goods_origin_country"] = g.origin_country
                if g.value is not None and want["value"]:
                    f["value_amount"] = float(g.value.amount)
                    f["value_currency"] = g.value.currency
                payload = {**base_payload, "path": f"{base}[{i}]", "goods": g, "line": i}
                if unknowns:
                    subjects = subjects_of_fact(unknowns, "goods", i)
                    payload["unknown"] = subjects
                    mark(f, subjects)
                facts.append(Fact(f"{prefix}/goods/{i}", "goods", f, payload))
                if g.hs_codes:  # several candidate codes: one fact per further candidate
                    for k, alt in enumerate(g.codes[1:], start=1):
                        facts.append(self._candidate(facts[-1], g, alt, k))

        if "party" in build_kinds:
            parties: list[tuple[str, str, str | None, Any]] = []
            if event.shipment is not None:
                for i, p in enumerate(event.shipment.parties):
                    # an unknown role ("", never a role name) is undecided at the unknown level
                    parties.append((f"shipment.parties[{i}]", p.role or "", p.country, p))
            if event.entity is not None:
                for i, o in enumerate(event.entity.owners):
                    parties.append((f"entity.owners[{i}]", "owner", o.country, o))
            for n, (path, role, country, obj) in enumerate(parties):
                f = {**ctx, **event_flags, "kind": "party", "role": role}
                if country:
                    f["party_country"] = country
                if only is not None:
                    f = {k: v for k, v in f.items() if k in only}
                payload = {**base_payload, "path": path, "party": obj}
                if unknowns:
                    subjects = subjects_of_fact(unknowns, "party", n)
                    payload["unknown"] = subjects
                    mark(f, subjects)
                facts.append(Fact(f"{prefix}/party/{n}", "party", f, payload))

        if "hit" in build_kinds:
            for n, h in enumerate(hits):
                f = {
                    **ctx, **event_flags, "kind": "hit", "list_regime": h.list_regime, "entry_kind": h.entry_kind,
                    "reference": h.reference.strip(), "method": h.method, "score": float(h.score),
                }  # fmt: skip
                if h.role:
                    f["hit_role"] = h.role
                if only is not None:
                    f = {k: v for k, v in f.items() if k in only}
                payload = {**base_payload, "path": h.path, "hit": h}
                if unknowns:
                    mark(f, unknowns.event)
                facts.append(Fact(f"{prefix}/hit/{n}", "hit", f, payload))

        if "event" in build_kinds:
            f = {**ctx, **event_flags, "kind": "event"}
            if only is not None:
                f = {k: v for k, v in f.items() if k in only}
            payload = {**base_payload, "path": event.event_type.value}
            if unknowns:
                mark(f, unknowns.event)
            facts.append(Fact(f"{prefix}/event/0", "event", f, payload))

        return facts

    def _candidate(self, first: Fact, g: Goods, code: str, k: int) -> Fact:
        """The fact of a further candidate HS code of a line: the line's fact with that code."""
        f = {k2: v for k2, v in first.fields.items() if k2 not in ("hs_code", "hs2", "hs4", "hs6")}
        want = self._want
        if want["hs_code"]:
            f["hs_code"] = code
        if want["hs2"]:
            f["hs2"] = code[:2]
        if want["hs4"] and len(code) >= 4:
            f["hs4"] = code[:4]
        if want["hs6"] and len(code) >= 6:
            f["hs6"] = code[:6]
        payload = {**first.payload, "goods": g.model_copy(update={"hs_code": code}), "candidate": k}
        return Fact(f"{first.key}.{k}", "goods", f, payload)


def build_facts(
    event: Event, hits: Sequence[ScreeningHit] = (), keywords: Iterable[Keyword] = ()
) -> list[Fact]:
    """All fact kinds of one event (convenience for tests and tools)."""
    return FactBuilder(keywords).build(event, hits)

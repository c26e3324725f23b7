"""Explanations of a violation: its evidence (which fields matched, by provenance path), and its
reason text (the rule's template with placeholders filled from the event and the matched fact).

The evidence walks the rule's condition with the shared leaf tests (engine/rules/conditions.py,
through the oracle for the register leaves), for violations durable_rules already found: it says
WHY, it never decides.
"""

from __future__ import annotations

import string
from typing import Any

from engine.models.decisions import Evidence
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import UNKNOWN_LEVEL
from engine.rules.conditions import area_places, goods_match, leaf_subjects, named_parties
from engine.rules.exemptions import ExemptionLookup
from engine.rules.facts import Fact, places
from engine.rules.loader import RulePack
from engine.rules.oracle import Oracle
from engine.rules.schema import (
    All,
    AnyOf,
    Area,
    CapUsage,
    Direction,
    FieldTest,
    FixedPeriod,
    GoodsMatch,
    History,
    Node,
    Not,
    Occurred,
    PartyNamed,
    RefStatus,
    Rule,
)
from engine.rules.unknowns import pointers_for

_CONTEXT_PATHS = {
    "event_type": "event_type",
    "mode": "shipment.mode",
    "origin_country": "shipment.origin.country",
    "destination_country": "shipment.destination.country",
    "movement_kind": "vessel_movement.kind",
    "port_country": "vessel_movement.port.country",
    "cargo_operation": "vessel_movement.cargo_operation",
    "counterpart_flag": "vessel_movement.counterpart_vessel.flag",
    "previous_flag": "vessel_movement.previous.flag",
    "entity_kind": "entity.kind",
    "entity_action": "entity.action",
    "entity_country": "entity.country",
    "entity_nationality": "entity.nationality",
    "entity_flag": "entity.flag",
    "has_exemption_ref": "shipment.exemption_ref",
    "has_notification_ref": "shipment.notification_ref",
}
_LINE_PATHS = {
    "hs_code": "hs_code", "hs_missing": "hs_code", "quantity": "quantity", "unit": "unit",
    "goods_origin_country": "origin_country", "value_amount": "value.amount",
    "value_currency": "value.currency", "role": "role", "party_country": "country",
}  # fmt: skip


def _field_path(fact: Fact, name: str) -> str:
    if name in ("vessel_flag", "vessel_imo"):
        return f"{fact.payload['event'].event_type.value}.vessel.{name.removeprefix('vessel_')}"
    if name in _CONTEXT_PATHS:
        return _CONTEXT_PATHS[name]
    if name in _LINE_PATHS and fact.kind in ("goods", "party"):
        return f"{fact.payload['path']}.{_LINE_PATHS[name]}"
    return fact.payload["path"]


def _place_text(event: Event, path: str) -> str:
    """Readable place behind a provenance path, e.g. 'Najin (KP)'."""
    s, m = event.shipment, event.vessel_movement
    try:
        if s is not None and path.startswith("shipment.origin"):
            p = s.origin
        elif s is not None and path.startswith("shipment.destination"):
            p = s.destination
        elif s is not None and path.startswith("shipment.route["):
            p = s.route[int(path.split("[", 1)[1].split("]", 1)[0])]
        elif m is not None and path.startswith("vessel_movement.port"):
            p = m.port
        elif m is not None and path.startswith("vessel_movement.vessel") and m.vessel is not None:
            return f"vessel {m.vessel.name or m.vessel.imo or m.vessel.mmsi} (flag {m.vessel.flag})"
        elif (
            m is not None
            and path.startswith("vessel_movement.counterpart_vessel")
            and m.counterpart_vessel
        ):
            v = m.counterpart_vessel
            return f"vessel {v.name or v.imo or v.mmsi} (flag {v.flag})"
        elif ".origin_country" in path:
            return f"goods of {path and _resolve(event, path)} origin"
        else:
            return path
    except (IndexError, ValueError):
        return path
    if p is None:
        return path
    return f"{p.name} ({p.country})" if p.name else (p.country or path)


def _resolve(event: Event, path: str) -> Any:
    obj: Any = event
    for part in path.replace("]", "").replace("[", ".").split("."):
        if obj is None:
            return None
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part, None)
    return obj


_DIR_WORDS = {"to": "supplied to", "from": "exported from", "touches": "passes through"}


class Explainer:
    """Evidence and reason text for a violation durable_rules found (never decides)."""

    def __init__(self, pack: RulePack, oracle: Oracle, exemptions: ExemptionLookup) -> None:
        self.oracle = oracle
        self.exemptions = exemptions
        # Per-rule facts for explanations, computed once (walking the condition tree is slow).
        self._uses = {
            r.id: {k: r.uses_register(k) for k in ("exemption", "notification")} for r in pack.rules
        }
        self._reason_fields = {r.id: _template_fields(r.reason) for r in pack.rules}
        self._dir_countries = {
            r.id: {
                axis: {
                    c
                    for n in r.when.nodes()
                    if isinstance(n, Direction) and n.axis == axis
                    for c in n.countries
                }
                for axis in ("from", "to")
            }
            for r in pack.rules
        }

    def violation_evidence(self, rule: Rule, matched: list[tuple[Fact, str]]) -> list[Evidence]:
        """Evidence of every matched fact (deduplicated, in order), then the date in force."""
        event: Event = matched[0][0].payload["event"]
        evidence: list[Evidence] = []
        seen: set[tuple[str, str, str | None]] = set()
        for fact, lvl in matched:
            for ev in self.evidence(rule, fact, lvl):
                k = (ev.path, repr(ev.value), ev.note)
                if k not in seen:
                    seen.add(k)
                    evidence.append(ev)
        evidence.append(
            Evidence(
                path="occurred_at",
                value=event.occurred_at.isoformat(),
                note=f"{rule.citation} in force from {rule.effective_from}"
                + (f" to {rule.effective_to}" if rule.effective_to else ""),
            )
        )
        return evidence

    def evidence(self, rule: Rule, fact: Fact, level: str) -> list[Evidence]:
        out: list[Evidence] = []
        self._visit(rule, rule.when.tree(), fact, level, out)
        hit: ScreeningHit | None = fact.payload.get("hit")
        if hit is not None:
            out.append(
                Evidence(
                    path=hit.path,
                    value=hit.queried,
                    note=f"{hit.explanation} [{hit.list_regime} {hit.reference.strip()}]",
                    screening={
                        "reference": hit.reference.strip(),
                        "method": hit.method,
                        "matched": hit.matched,
                        "score": hit.score,
                        "alignment": [a.model_dump() for a in hit.alignment],
                    },
                )
            )
        if rule.cap is not None:
            usage: CapUsage | None = fact.payload.get("caps", {}).get(rule.id)
            g = fact.payload["goods"]
            if usage is None:
                note = f"running total against the cap of {rule.cap.amount:g} {rule.cap.unit.value} is unknown"
            else:
                note = f"running total {usage.prior + usage.this:g} {rule.cap.unit.value} after this line exceeds the cap of {rule.cap.amount:g} {rule.cap.unit.value}"
            out.append(
                Evidence(path=f"{fact.payload['path']}.quantity", value=g.quantity, note=note)
            )
        return out

    def _visit(self, rule: Rule, node: Node, fact: Fact, level: str, out: list[Evidence]) -> None:
        if isinstance(node, All):
            for n in node.items:
                self._visit(rule, n, fact, level, out)
            return
        if isinstance(node, AnyOf):
            for n in node.items:
                if self.oracle.holds(rule, n, fact, level):
                    self._visit(rule, n, fact, level, out)
            return
        if isinstance(node, Not):
            return  # exceptions that did not apply are not evidence
        detail = (
            goods_match(node, fact.payload["goods"], level)
            if isinstance(node, GoodsMatch)
            else self.oracle.leaf(rule, node, fact, level)
        )
        if not detail:
            return
        event: Event = fact.payload["event"]
        if isinstance(node, Direction):
            found = places(fact, node.axis)
            for c in node.countries:
                for path in found.get(c, ()):
                    out.append(
                        Evidence(
                            path=path,
                            value=c,
                            note=f"{_place_text(event, path)}: goods {_DIR_WORDS[node.axis]} {c}",
                        )
                    )
        elif isinstance(node, GoodsMatch) and isinstance(detail, tuple):
            how, what = detail
            g = fact.payload["goods"]
            path = fact.payload["path"]
            if how == "hs":
                out.append(
                    Evidence(
                        path=f"{path}.hs_code",
                        value=g.hs_code,
                        note=f"within HS {what} of the measure",
                    )
                )
            elif how == "short":
                out.append(
                    Evidence(
                        path=f"{path}.hs_code",
                        value=g.hs_code,
                        note=f"declared HS {g.hs_code} is less specific than the measure's {what}: may be in scope",
                    )
                )
            else:
                out.append(
                    Evidence(
                        path=f"{path}.description",
                        value=g.description,
                        note=f'no hs_code; the description matches the keyword "{what}"',
                    )
                )
        elif isinstance(node, FieldTest):
            out.append(
                Evidence(
                    path=_field_path(fact, node.field),
                    value=fact.fields.get(node.field),
                    note=f"{node.field} {node.op} {node.value!r}",
                )
            )
        elif isinstance(node, RefStatus):
            ref = ref_of(event, node.kind)
            status = self.oracle.ref_status(rule, node.kind, event)
            out.append(
                Evidence(
                    path=f"shipment.{node.kind}_ref",
                    value=ref,
                    note=f"{node.kind} status: {status}",
                )
            )
        elif isinstance(node, Occurred):
            out.append(
                Evidence(
                    path="occurred_at",
                    value=event.occurred_at.isoformat(),
                    note=f"occurred {node.op} {node.at}",
                )
            )
        elif isinstance(node, PartyNamed) and event.shipment is not None:
            for i in named_parties(node, event):
                p = event.shipment.parties[i]
                note = f"{p.role} named as one of the measure's end users"
                out.append(Evidence(path=f"shipment.parties[{i}].name", value=p.name, note=note))
        elif isinstance(node, History):
            # the earlier events (or register entry) the history test relied on, by id
            result = self.oracle.history.check(node, event)
            for earlier, what in result.relied_on:
                out.append(Evidence(path=f"history.{node.test}", value=earlier, note=what))
        elif isinstance(node, Area):
            for path, place, status in area_places(node, event):
                if status == "yes":
                    note = f"place in the area the measure draws ({node.country})"
                else:
                    note = f"place in {node.country} without a name: it may be in the area"
                out.append(Evidence(path=path, value=place.name or node.country, note=note))

    def reason(self, rule: Rule, fact: Fact, level: str) -> str:
        """The rule's reason text, its placeholders filled from the event and the fact."""
        event: Event = fact.payload["event"]
        needed = self._reason_fields[
            rule.id
        ]  # the costlier values are computed only if the text uses them
        s, m, e = event.shipment, event.vessel_movement, event.entity
        v: dict[str, Any] = _Blank(
            event_id=event.event_id,
            occurred_at=event.occurred_at.date().isoformat(),
            citation=str(rule.citation),
        )
        g = fact.payload.get("goods")
        if g is not None:
            v.update(
                description=g.description or "goods",
                hs_code=g.hs_code or "not given",
                goods_origin_country=g.origin_country,
            )
            if g.quantity is not None:
                v.update(quantity=f"{g.quantity:g}", unit=g.unit.value if g.unit else "")
        if s is not None:
            v.update(origin=_place(s.origin), destination=_place(s.destination))
            if "route" in needed:
                v["route"] = " → ".join(
                    x
                    for x in [
                        _place(s.origin),
                        *(_place(p) for p in s.route),
                        _place(s.destination),
                    ]
                    if x
                )
            v.update(exemption_ref=s.exemption_ref, notification_ref=s.notification_ref)
        vessel = s.vessel if s is not None else (m.vessel if m is not None else None)
        if vessel is not None:
            v.update(vessel=_vessel_text(vessel), vessel_flag=vessel.flag)
        if m is not None:
            v.update(port=_place(m.port), previous_flag=m.previous.flag if m.previous else None)
            if m.counterpart_vessel is not None:
                v.update(
                    counterpart_vessel=_vessel_text(m.counterpart_vessel),
                    counterpart_flag=m.counterpart_vessel.flag,
                )
        if e is not None:
            v["entity_name"] = e.name
        party = fact.payload.get("party")
        if party is not None:
            v.update(
                party_name=party.name,
                party_role=getattr(party, "role", "owner"),
                party_country=party.country,
            )
        hit: ScreeningHit | None = fact.payload.get("hit")
        if hit is not None:
            v.update(
                hit_name=hit.entry_name,
                hit_reference=hit.reference.strip(),
                list_regime=hit.list_regime,
                hit_role=hit.role,
            )
        for axis in ("from", "to"):
            if f"{axis}_places" not in needed:
                continue
            wanted = self._dir_countries[rule.id][axis]
            found = places(fact, axis)
            texts = [
                _place_text(event, p)
                for c, paths in found.items()
                if not wanted or c in wanted
                for p in paths
            ]
            if texts:
                v[f"{axis}_places"] = ", ".join(dict.fromkeys(texts))
        for kind in ("exemption", "notification"):
            if self._uses[rule.id][kind] and f"{kind}_status" in needed:
                v[f"{kind}_status"] = self.exemptions.status(
                    ref_of(event, kind), kind, rule.id, rule.regime, event.occurred_at, event
                )
        usage: CapUsage | None = fact.payload.get("caps", {}).get(rule.id)
        if rule.cap is not None:
            v.update(cap_amount=f"{rule.cap.amount:g}", cap_unit=rule.cap.unit.value)
            if usage is not None:
                v["cap_total"] = f"{usage.prior + usage.this:g}"
        v = _Blank({k: ("unknown" if val is None else val) for k, val in v.items()})
        text = rule.reason.format_map(v).strip()
        return text + self._reason_suffix(rule, event, usage)

    def _reason_suffix(self, rule: Rule, event: Event, usage: CapUsage | None) -> str:
        extra = []
        for kind in ("exemption", "notification"):
            ref = ref_of(event, kind)
            if not ref or not self._uses[rule.id][kind]:
                continue
            if hasattr(self.exemptions, "check"):  # the stored registers: every failed check
                found = self.exemptions.check(ref, kind, rule.id, rule.regime, event)
                if not found.valid:
                    extra.append(
                        f"The cited {kind}_ref {ref!r} does not clear this measure "
                        f"({found.status}): {'; '.join(found.problems)}."
                    )
                elif rule.wind_down is not None and rule.wind_down.requires == kind:
                    extra.append(
                        f"The cited {kind}_ref {ref!r} is valid but the wind-down period ended on {rule.wind_down.until}."
                    )
                continue
            status = self.exemptions.status(ref, kind, rule.id, rule.regime, event.occurred_at)
            entry = self.exemptions.entry(ref)
            if status == "expired" and entry is not None:
                extra.append(f"The cited {kind}_ref {ref!r} expired (valid to {entry.valid_to}).")
            elif status == "not_yet_valid" and entry is not None:
                extra.append(
                    f"The cited {kind}_ref {ref!r} is not yet valid (from {entry.valid_from})."
                )
            elif status == "unknown":
                extra.append(f"The cited {kind}_ref {ref!r} is not in the exemption register.")
            elif status == "not_covering":
                extra.append(f"The cited {kind}_ref {ref!r} does not cover this measure.")
            elif (
                status == "valid" and rule.wind_down is not None and rule.wind_down.requires == kind
            ):
                extra.append(
                    f"The cited {kind}_ref {ref!r} is valid but the wind-down period ended on {rule.wind_down.until}."
                )
        if rule.cap is not None and usage is None:
            period = rule.cap.period
            ptext = (
                f"{period.from_}..{period.to}"
                if isinstance(period, FixedPeriod)
                else str(period).replace("_", " ")
            )
            extra.append(
                f"The running total against the cap ({rule.cap.amount:g} {rule.cap.unit.value}, {ptext}) could not be computed."
            )
        return (" " + " ".join(extra)) if extra else ""


def ref_of(event: Event, kind: str) -> str | None:
    s = event.shipment
    if s is None:
        return None
    return s.exemption_ref if kind == "exemption" else s.notification_ref


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "unknown"


def _template_fields(template: str) -> frozenset[str]:
    """Top-level names a reason template reads ("{a.b!r:>5}" reads "a")."""
    names = set()
    for _text, name, _spec, _conv in string.Formatter().parse(template):
        if name:
            names.add(name.split(".", 1)[0].split("[", 1)[0])
    return frozenset(names)


def _vessel_text(v: Any) -> str | None:
    if v is None:
        return None
    name = v.name or (f"IMO {v.imo}" if v.imo else v.mmsi)
    return f"{name} (IMO {v.imo})" if v.imo and v.name else name


def _place(p: Any) -> str | None:
    if p is None:
        return None
    return f"{p.name} ({p.country})" if p.name else p.country


def unknown_evidence(
    rule: Rule, matched: list[tuple[Fact, str]]
) -> tuple[list[str], list[Evidence]]:
    """The unknown values a needs-information violation depends on: their pointers, and one
    evidence item each (the value as reported, why it could not be read)."""
    read = {s for n in rule.when.nodes() for s in leaf_subjects(n)}
    subjects = set().union(
        *(read & set(f.payload["unknown"]) for f, lvl in matched if lvl == UNKNOWN_LEVEL)
    )
    event: Event = matched[0][0].payload["event"]
    pointers = pointers_for(event, subjects)
    by_ptr = {f.pointer: f for f in event.quality}
    return pointers, [
        Evidence(
            path=p,
            value=by_ptr[p].value,
            note=f"unknown: {by_ptr[p].message}; the measure applies if it is as feared",
        )
        for p in pointers
    ]

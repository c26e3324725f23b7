"""The evaluator: event(s) -> Decision(s), using the compiled rule pack on durable_rules.

``Evaluator(pack, screener=None, caps=None, exemptions=None)``:
  ``evaluate(event) -> Decision`` and ``evaluate_many(events) -> list[Decision]`` (one durable call
  per batch of facts). ``default_evaluator()`` is the process-wide one (rules from
  ``Settings.rules_dir``; screener / caps ledger from ``engine.screening.default_screener`` and
  ``engine.rules.caps.default_caps`` when those factories exist).

Matching is done only by durable_rules; the oracle's leaf tests are used afterwards, for the
violations found, to say WHICH fields matched (evidence) — never to decide.
"""

from __future__ import annotations

import importlib
import logging
import string
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.models.decisions import Citation, Decision, Evidence, Violation
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import LEVEL_RANK, LISTED_FIELDS
from engine.rules.compiler import (
    CompiledPack,
    cap_field,
    compile_pack,
    exemption_field,
)
from engine.rules.durable_backend import DurableBackend
from engine.rules.exemptions import ExemptionLookup
from engine.rules.facts import Fact, FactBuilder, context_fields, direction_sets, places
from engine.rules.loader import RulePack, load_pack
from engine.rules.oracle import Oracle, explain_leaf
from engine.rules.prefilter import Prefilter, flag_values, set_values
from engine.rules.protocols import CapsProvider, Screener
from engine.rules.schema import (
    All,
    AnyOf,
    CapUsage,
    Direction,
    FieldTest,
    FixedPeriod,
    GoodsMatch,
    Node,
    Not,
    Occurred,
    RefStatus,
    Rule,
)

__all__ = [
    "Evaluator",
    "default_evaluator",
    "CapsProvider",
    "Screener",
    "ExemptionLookup",
    "CapUsage",
]

log = logging.getLogger(__name__)


def _engine_version() -> str:
    # `engine` can resolve as a namespace package through the editable install when the process
    # does not start in the project root; fall back to the installed distribution's version.
    try:
        from engine import __version__

        return __version__
    except ImportError:
        from importlib.metadata import version

        return version("sanctions-engine")


ENGINE_VERSION = _engine_version()
_SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}

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
            p = m.port  # type: ignore[assignment]
        elif m is not None and path.startswith("vessel_movement.vessel"):
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
    return f"{p.name} ({p.country})" if p.name else p.country


def _resolve(event: Event, path: str) -> Any:
    obj: Any = event
    for part in path.replace("]", "").replace("[", ".").split("."):
        if obj is None:
            return None
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part, None)
    return obj


_DIR_WORDS = {"to": "supplied to", "from": "exported from", "touches": "passes through"}


class _Explainer:
    def __init__(self, oracle: Oracle) -> None:
        self.oracle = oracle

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
        detail = explain_leaf(self.oracle, rule, node, fact, level)
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
        elif isinstance(node, GoodsMatch):
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
            ref = _ref(event, node.kind)
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


def _ref(event: Event, kind: str) -> str | None:
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


class Evaluator:
    def __init__(
        self,
        pack: RulePack,
        screener: Screener | Callable[[], Screener] | None = None,
        caps: CapsProvider | None = None,
        exemptions: ExemptionLookup | None = None,
        prefilter: bool = True,
    ) -> None:
        self.pack = pack
        self.prefilter = prefilter
        # A Screener, or a zero-argument provider of the current one (default_screener: a worker
        # picks up a newly imported list snapshot without a restart).
        self._screener_source = screener
        self.caps = caps
        self.exemptions = exemptions if exemptions is not None else pack.register
        self.compiled: CompiledPack = compile_pack(pack)
        self.backend = DurableBackend(self.compiled.definitions)
        self.oracle = Oracle(pack, self.exemptions, caps)  # explanations only
        self._explainer = _Explainer(self.oracle)
        keywords = set().union(*(r.keywords() for r in pack.rules)) if pack.rules else set()
        self._kinds = frozenset(r.when.fact for r in pack.rules)
        self._prefilter = Prefilter(
            self.compiled.expressions, {r.id: r.when.fact for r in pack.rules}
        )
        self._event_fields = self._prefilter.event_fields
        self.builder = FactBuilder(keywords, kinds=self._kinds, fields=self.compiled.fields)
        self._rules = pack.by_id
        self._register_rules = [
            (r, kind)
            for r in pack.rules
            for kind in ("exemption", "notification")
            if r.uses_register(kind)
        ]
        self._cap_rules = [(r, cap_field(r)) for r in pack.rules if r.cap is not None]
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

    @property
    def rule_pack_version(self) -> str:
        return self.pack.version

    @property
    def screener(self) -> Screener | None:
        """The screener in use now (the provider's current one)."""
        source = self._screener_source
        if source is not None and callable(source) and not hasattr(source, "screen"):
            return source()
        return source

    def _batch_screener(self) -> Screener | None:
        """The screener for one batch, with this pack's designated-vessel register: the register
        is versioned with the rule pack, so a replay of the pack replays the register too."""
        screener = self.screener
        if (
            screener is not None
            and self.pack.vessels is not None
            and hasattr(screener, "with_register")
        ):
            return screener.with_register(self.pack.vessels)
        return screener

    # -- facts -----------------------------------------------------------------------------

    def _augment(self, event: Event, facts: list[Fact]) -> None:
        """Per-rule fields: exemption/notification statuses and cap running totals."""
        refs = {"exemption": _ref(event, "exemption"), "notification": _ref(event, "notification")}
        for rule, kind in (
            self._register_rules if (refs["exemption"] or refs["notification"]) else ()
        ):
            if not refs[kind]:
                continue  # status "none": compiled as has_*_ref == false
            status = self.exemptions.status(
                refs[kind], kind, rule.id, rule.regime, event.occurred_at
            )
            name = exemption_field(rule, kind)
            for f in facts:
                if f.kind == rule.when.fact:
                    f.fields[name] = status
        for rule, field in (
            self._cap_rules
            if self.caps is not None and any(f.kind == "goods" for f in facts)
            else ()
        ):
            if event.event_type.value not in rule.applies_to:
                continue
            for f in facts:
                if f.kind != "goods":
                    continue
                if self.prefilter and not self._prefilter.rule_may_match(rule.id, f.fields):
                    continue  # this line cannot match the cap rule whatever its total: no ledger query
                usage = self.caps.usage(rule.id, rule.cap, event, f.payload["line"])  # type: ignore[arg-type]
                f.payload.setdefault("caps", {})[rule.id] = usage
                if usage is not None:
                    f.fields[field] = float(usage.prior + usage.this)

    def facts_of(
        self, event: Event, hits: Sequence[ScreeningHit] = (), prefix: str = ""
    ) -> list[Fact]:
        """The facts of one event that the engine needs to see (with per-rule fields)."""
        kinds = self._kinds if hits else self._kinds - {"hit"}
        sets = None
        if self.prefilter:
            sets = direction_sets(event)
            values = flag_values(context_fields(event), sets)
            for h in hits:
                name = LISTED_FIELDS.get(h.list_regime)
                if name:
                    values[name] = True
            filled: list[bool] = []

            def fill() -> None:  # the per-line / per-party sets, built only if a check reads them
                if not filled:
                    filled.append(True)
                    values.update(set_values(event, sets[3], self._event_fields))

            kinds = {k for k in kinds if self._prefilter.event_may_match(k, values, fill)}
            if not kinds:
                return []  # typical clear event: no rule can match any of its facts
        facts = self.builder.build(event, hits, prefix=prefix, kinds=kinds, sets=sets)
        if self.prefilter:
            facts = [f for f in facts if self._prefilter.fact_may_match(f.kind, f.fields)]
        self._augment(event, facts)
        return facts

    def match(self, facts: Sequence[Fact]) -> dict[tuple[str, str], str]:
        """Durable matching only: {(fact_key, rule_id): best level}."""
        used, wanted = self.compiled.fields, self.compiled.wanted
        posted = [
            (
                f.key,
                f.fields
                if f.fields.keys() <= used
                else {k: v for k, v in f.fields.items() if k in used},
            )
            for f in facts
            if (f.kind, f.payload["event"].event_type.value) in wanted
        ]
        best: dict[tuple[str, str], str] = {}
        for key, name in self.backend.match(posted):
            rule_id, level = self.compiled.names[name]
            old = best.get((key, rule_id))
            if old is None or LEVEL_RANK[level] > LEVEL_RANK[old]:
                best[(key, rule_id)] = level
        return best

    # -- decisions -------------------------------------------------------------------------

    def evaluate(self, event: Event) -> Decision:
        return self.evaluate_many([event])[0]

    def evaluate_many(self, events: Sequence[Event]) -> list[Decision]:
        now = datetime.now(UTC)
        all_facts: list[Fact] = []
        by_key: dict[str, Fact] = {}
        screener = self._batch_screener()
        for i, event in enumerate(events):
            hits = list(screener.screen(event)) if screener is not None else []
            facts = self.facts_of(event, hits, prefix=str(i))
            all_facts.extend(facts)
        matched = self.match(all_facts)
        per_event: dict[int, dict[str, list[tuple[Fact, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        if matched:
            by_key = {f.key: f for f in all_facts}
            for (key, rule_id), level in matched.items():
                per_event[int(key.split("/", 1)[0])][rule_id].append((by_key[key], level))
        out = []
        for i, event in enumerate(events):
            list_version = screener.version_at(event.occurred_at) if screener is not None else None
            found = per_event.get(i)
            if not found:
                # Plain construction (~5 us) is cheaper than model_copy(update=...) of a template (~7 us).
                out.append(Decision(
                    event_id=event.event_id, status="clear", violations=[], reasons=[], rule_pack_version=self.pack.version,
                    list_version=list_version, engine_version=ENGINE_VERSION, evaluated_at=now,
                ))  # fmt: skip
                continue
            violations = [self._violation(self._rules[rid], hits) for rid, hits in found.items()]
            violations.sort(key=lambda v: (-_SEVERITY_RANK[v.severity], v.rule_id))
            out.append(
                Decision(
                    event_id=event.event_id,
                    status="flagged",
                    violations=violations,
                    rule_pack_version=self.pack.version,
                    list_version=list_version,
                    engine_version=ENGINE_VERSION,
                    evaluated_at=now,
                )
            )
        return out

    def _violation(self, rule: Rule, matched: list[tuple[Fact, str]]) -> Violation:
        matched.sort(key=lambda fl: (-LEVEL_RANK[fl[1]], fl[0].key))
        first, level = matched[0]
        event: Event = first.payload["event"]
        evidence: list[Evidence] = []
        seen: set[tuple[str, str, str | None]] = set()
        for fact, lvl in matched:
            for ev in self._explainer.evidence(rule, fact, lvl):
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
        confidence = min((rule.confidence, level), key=lambda c: LEVEL_RANK[c])
        if any(
            f.payload.get("hit") is not None and f.payload["hit"].method == "name_fuzzy"
            for f, _ in matched
        ):
            confidence = min((confidence, "medium"), key=lambda c: LEVEL_RANK[c])
        return Violation(
            rule_id=rule.id,
            regime=rule.regime,
            title=rule.title,
            severity=rule.severity,
            citations=[
                Citation(resolution=c.resolution, paragraph=c.paragraph)
                for c in rule.citations
                # also_cites may list later resolutions that restate the measure: cite only those
                # adopted by the event's year (the primary citation always).
                if c is rule.citation or c.year <= event.occurred_at.year
            ],
            evidence=evidence,
            reason=self._reason(rule, first, level),
            confidence=confidence,  # type: ignore[arg-type]
        )

    def _reason(self, rule: Rule, fact: Fact, level: str) -> str:
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
                    _ref(event, kind), kind, rule.id, rule.regime, event.occurred_at
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
            ref = _ref(event, kind)
            if not ref or not self._uses[rule.id][kind]:
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

    def close(self) -> None:
        self.backend.close()


# -- the process-wide evaluator ----------------------------------------------------------------

_default_lock = threading.Lock()
_default: Evaluator | None = None


def _optional_factory(module: str, name: str, call: bool = True) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    factory = getattr(mod, name, None)
    if factory is None or not call:
        return factory
    return factory()


def default_evaluator() -> Evaluator:
    """The process-wide evaluator over Settings.rules_dir (built once, thread-safe)."""
    global _default
    with _default_lock:
        if _default is None:
            pack = load_pack()
            screener = _optional_factory("engine.screening", "default_screener", call=False)
            caps = _optional_factory("engine.rules.caps", "default_caps")
            _default = Evaluator(pack, screener=screener, caps=caps)
            log.info("rule pack %s loaded: %d rules", pack.version[:12], len(pack.rules))
        return _default


def reset_default_evaluator() -> None:
    global _default
    with _default_lock:
        _default = None

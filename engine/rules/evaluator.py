"""The evaluator: event(s) -> Decision(s), using the compiled rule pack on durable_rules.

``Evaluator(pack, screener=None, caps=None, exemptions=None, registers=None)``:
  ``evaluate(event) -> Decision`` and ``evaluate_many(events) -> list[Decision]`` (one durable call
  per batch of facts). ``default_evaluator()`` is the process-wide one (rules from
  ``Settings.rules_dir``; screener / caps ledger from ``engine.screening.default_screener`` and
  ``engine.rules.caps.default_caps``; exemptions and notifications from the stored registers,
  ``engine.registers.lookup.default_registers``, one register version per batch, recorded in the
  decisions of the events that read it); known false positives from the stored allowlist
  (``allowlist=``, engine.allowlist.matching: one snapshot per batch, applied to the screening
  hits before facts are built; a decision with hits records the version it read).

Matching is done only by durable_rules; the oracle's leaf tests are used afterwards, for the
violations found, to say WHICH fields matched (evidence) — never to decide.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.models.decisions import SEVERITY_RANK, Decision, Violation
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import LEVEL_RANK, LISTED_FIELDS, UNKNOWN_LEVEL
from engine.rules.compiler import (
    CompiledPack,
    cap_field,
    compile_pack,
    exemption_field,
    history_field,
)
from engine.rules.durable_backend import DurableBackend
from engine.rules.exemptions import ExemptionLookup
from engine.rules.explanation import Explainer, ref_of, unknown_evidence
from engine.rules.facts import Fact, FactBuilder, context_fields, direction_sets
from engine.rules.loader import RulePack, load_pack
from engine.rules.oracle import Oracle
from engine.rules.prefilter import Prefilter, flag_values, set_values
from engine.rules.protocols import CapsProvider, Screener
from engine.rules.schema import (
    CapUsage,
    History,
    Rule,
)
from engine.rules.unknowns import MARKER, unknowns_of

__all__ = [
    "Evaluator",
    "default_evaluator",
    "CapsProvider",
    "Screener",
    "ExemptionLookup",
    "CapUsage",
]

log = logging.getLogger(__name__)
UNKNOWN_CHUNK = 12  # unknown-level durable rules per ruleset (see Evaluator.__init__)


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


class Evaluator:
    def __init__(
        self,
        pack: RulePack,
        screener: Screener | Callable[[], Screener] | None = None,
        caps: CapsProvider | None = None,
        exemptions: ExemptionLookup | None = None,
        prefilter: bool = True,
        registers: Any = None,
        allowlist: Any = None,
        history: Any = None,
    ) -> None:
        self.pack = pack
        # allowlist: a source with current() -> engine.allowlist.matching.Snapshot
        self.allowlist = allowlist
        self.prefilter = prefilter
        # Seconds spent screening, summed over this evaluator's life: the pipeline turns the
        # delta per batch into its screening-time metric (rules/ does not import pipeline/).
        self.screening_seconds = 0.0
        # A Screener, or a zero-argument provider of the current one (default_screener: a worker
        # picks up a newly imported list snapshot without a restart).
        self._screener_source = screener
        self.caps = caps
        self.exemptions = exemptions if exemptions is not None else pack.register
        # registers: a source of the stored registers' snapshots (engine.registers), read once
        # per batch; its version goes into the decisions of the events that read it.
        self._batch_register: Any = None
        self._batch_caps: Any = None
        if registers is not None and exemptions is None:
            from engine.registers.batch import BatchCaps, BatchRegister

            self._batch_register = BatchRegister(registers)
            self.exemptions = self._batch_register
            if caps is not None:
                self._batch_caps = BatchCaps(caps, self._batch_register)
                self.caps = self._batch_caps
        self.compiled: CompiledPack = compile_pack(pack)
        known = {
            n: d
            for n, d in self.compiled.definitions.items()
            if self.compiled.names[n][1] != UNKNOWN_LEVEL
        }
        self.backend = DurableBackend(known)
        # Unknown-level rules in rulesets of their own, a few rules each: only facts of events
        # with unknown values go there, and an unknown destination makes every "to: X" rule's
        # pattern live at once, more than durable's per-fact traversal stack (64) holds in one
        # ruleset.
        unknown = sorted(n for n in self.compiled.definitions if n not in known)
        self.unknown_backends = [
            DurableBackend(
                {n: self.compiled.definitions[n] for n in unknown[i : i + UNKNOWN_CHUNK]}
            )
            for i in range(0, len(unknown), UNKNOWN_CHUNK)
        ]
        # Vessel history (engine.vessels.history.VesselHistory): answers vessel_history tests for
        # both evaluators; it screens against this pack's designated-vessel register.
        if history is not None and hasattr(history, "with_register"):
            history = history.with_register(pack.vessels).for_rules(pack.rules)
        self.history = history
        # event type -> {history test: fact kinds of the rules that read it}
        self._history_tests: dict[str, dict[History, set[str]]] = defaultdict(dict)
        for r in pack.rules:
            for n in r.when.nodes():
                if isinstance(n, History):
                    for t in r.applies_to:
                        self._history_tests[t].setdefault(n, set()).add(r.when.fact)
        # the fact field of each history test, named once (naming slugs the test's parameters)
        self._history_names = {
            n: history_field(n) for tests in self._history_tests.values() for n in tests
        }
        self._history_rules = {
            n: [r.id for r in pack.rules if n in set(r.when.nodes())]
            for tests in self._history_tests.values()
            for n in tests
        }
        # Per event type, once per pack: (test, fact kinds, its fact field, the rules reading it).
        self._history_plan: dict[str, list[tuple[History, set[str], str, list[str]]]] = {
            t: [
                (n, kinds, self._history_names[n], self._history_rules[n])
                for n, kinds in tests.items()
            ]
            for t, tests in self._history_tests.items()
        }
        # False for an event without a vessel of its own: every history test answers "no" then,
        # so the checks (and their prefilter look-ups) are skipped. Absent on other sources.
        self._history_may_hold: Callable[[Event], bool] | None = getattr(history, "may_hold", None)
        self.oracle = Oracle(pack, self.exemptions, caps, history)  # explanations only
        self._explainer = Explainer(pack, self.oracle, self.exemptions)
        keywords = set().union(*(r.keywords() for r in pack.rules)) if pack.rules else set()
        self._kinds = frozenset(r.when.fact for r in pack.rules)
        self._prefilter = Prefilter(
            self.compiled.expressions, {r.id: r.when.fact for r in pack.rules}
        )
        self._event_fields = self._prefilter.event_fields
        self.builder = FactBuilder(
            keywords,
            kinds=self._kinds,
            fields=self.compiled.fields,
            named=[n for r in pack.rules for n in r.when.nodes()],
        )
        self._rules = pack.by_id
        self._register_rules = [
            (r, kind)
            for r in pack.rules
            for kind in ("exemption", "notification")
            if r.uses_register(kind)
        ]
        self._cap_rules = [(r, cap_field(r)) for r in pack.rules if r.cap is not None]
        # event type -> its cap rules, once per pack (most event types have none)
        self._cap_plan: dict[str, list[tuple[Rule, str]]] = defaultdict(list)
        for r, field in self._cap_rules:
            for t in r.applies_to:
                self._cap_plan[t].append((r, field))

    @property
    def rule_pack_version(self) -> str:
        return self.pack.version

    @property
    def screener(self) -> Screener | None:
        """The screener in use now (the provider's current one)."""
        source = self._screener_source
        if source is None or hasattr(source, "screen"):
            return source  # type: ignore[return-value]  # a Screener (protocols are not runtime-checkable)
        return source()  # the zero-argument provider

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
        refs = {
            "exemption": ref_of(event, "exemption"),
            "notification": ref_of(event, "notification"),
        }
        for rule, kind in (
            self._register_rules if (refs["exemption"] or refs["notification"]) else ()
        ):
            if not refs[kind]:
                continue  # status "none": compiled as has_*_ref == false
            status = self.exemptions.status(
                refs[kind], kind, rule.id, rule.regime, event.occurred_at, event
            )
            name = exemption_field(rule, kind)
            for f in facts:
                if f.kind == rule.when.fact:
                    f.fields[name] = status
        event_type = event.event_type.value
        plan = self._history_plan.get(event_type)
        if plan:
            may_hold = self._history_may_hold
            checked = self.history is not None and (may_hold is None or may_hold(event))
            for node, kinds, name, rule_ids in plan:
                mine = [f for f in facts if f.kind in kinds]
                if not mine:
                    continue
                holds = False
                if checked and (
                    not self.prefilter
                    or any(
                        self._prefilter.rule_may_match(rid, f.fields)
                        for rid in rule_ids
                        for f in mine
                    )
                ):
                    holds = bool(self.history.check(node, event).holds)
                for f in mine:
                    f.fields[name] = holds
        cap_rules = self._cap_plan.get(event_type) if self.caps is not None else None
        if not cap_rules:
            return
        goods = [f for f in facts if f.kind == "goods"]
        for rule, field in cap_rules if goods else ():
            for f in goods:
                if self.prefilter and not self._prefilter.rule_may_match(rule.id, f.fields):
                    continue  # this line cannot match the cap rule whatever its total: no ledger query
                usage = self.caps.usage(rule.id, rule.cap, event, f.payload["line"])  # type: ignore[union-attr, arg-type]  # checked above; rule.cap set for _cap_rules
                f.payload.setdefault("caps", {})[rule.id] = usage
                if usage is not None:
                    f.fields[field] = float(usage.prior + usage.this)

    def facts_of(
        self, event: Event, hits: Sequence[ScreeningHit] = (), prefix: str = ""
    ) -> list[Fact]:
        """The facts of one event that the engine needs to see (with per-rule fields)."""
        kinds = self._kinds if hits else self._kinds - {"hit"}
        sets = None
        unknowns = unknowns_of(event)
        if self.prefilter:
            sets = direction_sets(event)
            values = flag_values(context_fields(event), sets)
            if unknowns:
                values[MARKER] = True  # as the builder sets it on every fact of this event
            for h in hits:
                name = LISTED_FIELDS.get(h.list_regime)
                if name:
                    values[name] = True
            filled: list[bool] = []

            def fill() -> None:  # the per-line / per-party sets, built only if a check reads them
                if not filled:
                    filled.append(True)
                    values.update(set_values(event, sets[3], self._event_fields))

            kinds = frozenset(k for k in kinds if self._prefilter.event_may_match(k, values, fill))
            if not kinds:
                return []  # typical clear event: no rule can match any of its facts
        facts = self.builder.build(
            event, hits, prefix=prefix, kinds=kinds, sets=sets, unknowns=unknowns
        )
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
        fired = self.backend.match(posted)
        messy = [p for p in posted if p[1].get(MARKER)]
        for backend in self.unknown_backends if messy else ():
            fired.extend(backend.match(messy))
        for key, name in fired:
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
        if self._batch_register is not None:  # a new batch reads the newest register version
            self._batch_register.reset()
            if self._batch_caps is not None:
                self._batch_caps.asked.clear()
        all_facts: list[Fact] = []
        by_key: dict[str, Fact] = {}
        screener = self._batch_screener()
        if self._history_tests and hasattr(self.history, "prepare"):
            # the batch's vessel histories in one store read (engine.vessels.history)
            self.history.prepare(
                [e for e in events if e.event_type.value in self._history_tests], screener
            )
        allowed = self.allowlist.current() if self.allowlist is not None else None
        allow_use: dict[int, dict[str, Any]] = {}
        for i, event in enumerate(events):
            hits: list[ScreeningHit] = []
            if screener is not None:
                started = time.perf_counter()
                hits = list(screener.screen(event))
                self.screening_seconds += time.perf_counter() - started
            if allowed is not None and hits and allowed.version:
                hits, notes = allowed.apply(event, hits)
                allow_use[i] = {"allowlist_version": allowed.version, "allowlist_notes": notes}
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
            register = self._register_use(event) | allow_use.get(i, {})
            quality = [f.model_dump(mode="json") for f in event.quality] if event.quality else []
            if not found:
                # Plain construction (~5 us) is cheaper than model_copy(update=...) of a template (~7 us).
                out.append(Decision(
                    event_id=event.event_id, status="clear", violations=[], reasons=[], rule_pack_version=self.pack.version,
                    list_version=list_version, engine_version=ENGINE_VERSION, evaluated_at=now, **register,
                    data_quality=quality,
                ))  # fmt: skip
                continue
            violations = [self._violation(self._rules[rid], hits) for rid, hits in found.items()]
            violations.sort(key=lambda v: (-SEVERITY_RANK[v.severity], v.rule_id))
            out.append(
                Decision(
                    event_id=event.event_id,
                    status="flagged",
                    violations=violations,
                    data_quality=quality,
                    needs_information=any(v.needs_information for v in violations),
                    rule_pack_version=self.pack.version,
                    list_version=list_version,
                    engine_version=ENGINE_VERSION,
                    evaluated_at=now,
                    **register,
                )
            )
        return out

    def _register_use(self, event: Event) -> dict[str, Any]:
        """register_version / register_notes of an event's decision: set when the batch read the
        stored registers for it (a cited reference, or a cap total with notified quantities)."""
        reg = self._batch_register
        if reg is None or not reg.read:
            return {}
        cited = bool(ref_of(event, "exemption") or ref_of(event, "notification"))
        asked = self._batch_caps is not None and event.event_id in self._batch_caps.asked
        if not (cited or asked):
            return {}
        from engine.registers.batch import notes

        return {
            "register_version": reg.version,
            "register_notes": notes(event, reg, self._batch_caps, self.pack.rules),
        }

    def _violation(self, rule: Rule, matched: list[tuple[Fact, str]]) -> Violation:
        matched.sort(key=lambda fl: (-LEVEL_RANK[fl[1]], fl[0].key))
        first, level = matched[0]
        event: Event = first.payload["event"]
        evidence = self._explainer.violation_evidence(rule, matched)
        # Found only with the event's unknown values read as possibly true: needs information.
        needs_info = level == UNKNOWN_LEVEL
        unknown, extra = unknown_evidence(rule, matched) if needs_info else ([], [])
        evidence.extend(extra)
        confidence = min(
            (rule.confidence, "low" if needs_info else level), key=lambda c: LEVEL_RANK[c]
        )
        if any(
            f.payload.get("hit") is not None and f.payload["hit"].method == "name_fuzzy"
            for f, _ in matched
        ):
            confidence = min((confidence, "medium"), key=lambda c: LEVEL_RANK[c])
        hits = [f.payload["hit"] for f, _ in matched if f.payload.get("hit") is not None]
        if hits and all(h.designation_status != "listed" for h in hits):
            # only designations known to have ended (or begun) somewhere in a window around the
            # event's day: marked, at low confidence (engine.lists.history)
            confidence = "low"
        return Violation(
            rule_id=rule.id,
            regime=rule.regime,
            title=rule.title,
            severity=rule.severity,
            citations=[
                c
                for c in rule.citations
                # also_cites may list later resolutions that restate the measure: cite only those
                # adopted by the event's year (the primary citation always).
                if c is rule.citation or c.year <= event.occurred_at.year
            ],
            evidence=evidence,
            reason=self._explainer.reason(rule, first, level)
            + (
                " Needs information: the decision depends on values the event left unknown ("
                + ", ".join(unknown or ["see data quality"])
                + ")."
                if needs_info
                else ""
            ),
            confidence=confidence,  # type: ignore[arg-type]
            needs_information=needs_info,
            unknown=unknown,
        )

    def close(self) -> None:
        self.backend.close()
        for backend in self.unknown_backends:
            backend.close()


# -- the process-wide evaluator ----------------------------------------------------------------

_default_lock = threading.Lock()
_default: Evaluator | None = None


def default_evaluator() -> Evaluator:
    """The process-wide evaluator over Settings.rules_dir (built once, thread-safe)."""
    global _default
    with _default_lock:
        if _default is None:
            pack = load_pack()
            # The screener provider, not one screener: a worker sees newly imported snapshots.
            from engine.allowlist.matching import StoredAllowlist
            from engine.registers.lookup import default_registers
            from engine.rules.caps import default_caps
            from engine.screening import default_screener
            from engine.vessels.history import default_history

            _default = Evaluator(
                pack,
                screener=default_screener,
                caps=default_caps(),
                registers=default_registers(),  # the stored registers, one version per batch
                allowlist=StoredAllowlist(),  # known false positives, one version per batch
                history=default_history(),  # vessel_history conditions over stored events
            )
            log.info("rule pack %s loaded: %d rules", pack.version[:12], len(pack.rules))
        return _default


def reset_default_evaluator() -> None:
    global _default
    with _default_lock:
        _default = None

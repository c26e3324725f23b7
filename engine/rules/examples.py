"""Run a rule file's examples through BOTH evaluators (durable path and oracle).

One Evaluator is built per pack; each example swaps in its own context (screening hits, exemption
register, cap usage) through small holder objects, so running hundreds of examples stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.exemptions import ExemptionRegister
from engine.rules.facts import Fact
from engine.rules.loader import RulePack
from engine.rules.schema import Cap, CapUsage, Example, ExemptionEntry, History, PriorEvent, Rule


class FixedScreener:
    def __init__(self) -> None:
        self.hits: list[ScreeningHit] = []

    def screen(self, event: Event) -> list[ScreeningHit]:
        return list(self.hits)

    def version_at(self, when: datetime) -> str | None:
        return None


class FixedCaps:
    def __init__(self) -> None:
        self.value: CapUsage | None = None

    def usage(self, rule_id: str, cap: Cap, event: Event, line: int) -> CapUsage | None:
        return self.value


class SwappableRegister:
    def __init__(self) -> None:
        self.inner = ExemptionRegister()

    def set(self, entries: list[ExemptionEntry]) -> None:
        self.inner = ExemptionRegister(entries)

    def status(
        self,
        ref: str | None,
        kind: str,
        rule_id: str,
        regime: str,
        at: datetime,
        event: Event | None = None,
    ) -> str:
        return self.inner.status(ref, kind, rule_id, regime, at, event)

    def entry(self, ref: str | None) -> ExemptionEntry | None:
        return self.inner.entry(ref)


class HitsByName:
    """An example's screening of a bare name (``owner_designated``): its hits whose ``queried``
    is that name (case and spacing ignored)."""

    def __init__(self, hits: Sequence[ScreeningHit]) -> None:
        self.hits = list(hits)

    def screen_name(self, name: str, when: object) -> list[ScreeningHit]:
        folded = " ".join(name.upper().split())
        return [h for h in self.hits if " ".join(h.queried.upper().split()) == folded]


class SwappableHistory:
    """Vessel history for one example at a time: its ``history`` of earlier events."""

    def __init__(self) -> None:
        from engine.vessels.history import MemoryHistory, VesselHistory

        self.register: object = None
        self.rules: list[Rule] = []
        self.inner = VesselHistory(MemoryHistory())

    def with_register(self, register: object) -> SwappableHistory:
        self.register = register
        return self

    def for_rules(self, rules: list[Rule]) -> SwappableHistory:
        self.rules = list(rules)
        return self

    def set(self, history: list[PriorEvent], hits: Sequence[ScreeningHit] = ()) -> None:
        from engine.vessels.history import MemoryHistory, VesselHistory

        source = MemoryHistory()
        for prior in history:
            source.add(prior.event, prior.flagged)
        self.inner = VesselHistory(
            source, register=self.register, screener=HitsByName(hits)
        ).for_rules(self.rules)

    def check(self, node: History, event: Event) -> object:
        return self.inner.check(node, event)


@dataclass
class ExampleOutcome:
    rule_id: str
    kind: str  # fire | clear
    event_id: str
    durable: dict[tuple[str, str], str]  # (fact_key, rule_id) -> level
    oracle: dict[tuple[str, str], str]
    fired: set[str]  # rules in the durable-path decision

    @property
    def agree(self) -> bool:
        return self.durable == self.oracle

    @property
    def ok(self) -> bool:
        return self.agree and ((self.rule_id in self.fired) == (self.kind == "fire"))

    def problem(self) -> str | None:
        if not self.agree:
            return f"{self.event_id}: evaluators disagree (durable {sorted(self.durable.items())} vs oracle {sorted(self.oracle.items())})"
        if self.kind == "fire" and self.rule_id not in self.fired:
            return f"{self.event_id}: `fire` example does not fire {self.rule_id}"
        if self.kind == "clear" and self.rule_id in self.fired:
            return f"{self.event_id}: `clear` example fires {self.rule_id}"
        return None


class ExampleRunner:
    def __init__(self, pack: RulePack, prefilter: bool = True) -> None:
        from engine.rules.evaluator import Evaluator

        self.pack = pack
        self.screener = FixedScreener()
        self.caps = FixedCaps()
        self.register = SwappableRegister()
        self.history = SwappableHistory()
        self.evaluator = Evaluator(
            pack,
            screener=self.screener,
            caps=self.caps,
            exemptions=self.register,
            prefilter=prefilter,
            history=self.history,
        )

    def _context(self, example: Example) -> None:
        self.screener.hits = list(example.hits)
        self.caps.value = example.cap_usage
        self.register.set(list(example.exemptions))
        self.history.set(list(example.history), example.hits)

    def durable(self, example: Example) -> tuple[list[Fact], dict[tuple[str, str], str]]:
        """The durable path only: the facts it sees and its matches (no oracle, no decision)."""
        self._context(example)
        facts = self.evaluator.facts_of(example.event, example.hits, prefix="x")
        return facts, self.evaluator.match(facts)

    def run(self, rule: Rule, kind: str, example: Example) -> ExampleOutcome:
        ev = self.evaluator
        facts, durable = self.durable(example)
        oracle = ev.oracle.matches(example.event, example.hits, prefix="x")
        decision = ev.evaluate(example.event)
        return ExampleOutcome(
            rule_id=rule.id,
            kind=kind,
            event_id=example.event.event_id,
            durable=durable,
            oracle=oracle,
            fired={v.rule_id for v in decision.violations},
        )

    def run_rule(self, rule: Rule) -> list[ExampleOutcome]:
        out = [self.run(rule, "fire", ex) for ex in rule.examples.fire]
        out += [self.run(rule, "clear", ex) for ex in rule.examples.clear]
        return out

    def close(self) -> None:
        self.evaluator.close()

"""A second, independent evaluator: interprets the rule YAML (`when` tree) directly in Python.

It shares the parsed rule objects and the leaf semantics (engine/rules/conditions.py, the one
reading of a condition that caps and evidence use too) with the durable path; it never reads
compiler output or the precomputed match fields (``hs2/hs4/hs6``, ``kw__``, ``pn__``/``area__``,
``occurred``, ``unk__``, ``exm__``/``ntf__``/``cap__``): levels, negation, the unknown level, dates,
wind-down and caps are decided here by walking the tree, exemption statuses and cap totals by
asking the register and the caps ledger. The tests require it to agree with the durable path on
every example and generated event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import EVAL_LEVELS, LEVEL_RANK, UNKNOWN_LEVEL
from engine.rules.conditions import before_end, in_force, leaf_holds, undecided
from engine.rules.exemptions import ExemptionLookup
from engine.rules.facts import Fact, FactBuilder
from engine.rules.loader import RulePack
from engine.rules.protocols import CapsProvider
from engine.rules.schema import (
    All,
    AnyOf,
    CapUsage,
    History,
    Node,
    Not,
    Rule,
)


class Oracle:
    """``Oracle(pack, exemptions=None, caps=None).matches(event, hits) -> {(fact_key, rule_id): level}``."""

    def __init__(
        self,
        pack: RulePack,
        exemptions: ExemptionLookup | None = None,
        caps: CapsProvider | None = None,
        history: Any = None,
    ) -> None:
        self.pack = pack
        self.exemptions = exemptions if exemptions is not None else pack.register
        self.caps = caps
        # engine.vessels.history.VesselHistory (or any object with ``check(node, event)``): the
        # same provider the evaluator writes vh__ fields from; None = no stored history.
        self.history = history
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
        if isinstance(node, History):
            if self.history is None:
                return False
            return bool(self.history.check(node, fact.payload["event"]).holds)
        return leaf_holds(
            node,
            fact,
            level,
            lambda n: self.ref_status(rule, n.kind, fact.payload["event"]) in n.statuses,
        )

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
            if undecided(node, fact.payload.get("unknown") or frozenset()):
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

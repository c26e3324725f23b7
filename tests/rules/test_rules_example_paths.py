"""Every example of every rule file through the readers of a condition besides the two evaluators
(tests/rules/test_rules_examples.py runs the same examples through both): the prefilter in front of
durable_rules, and the caps ledger's choice of the goods lines that count toward a cap
(engine/rules/conditions.py). A divergence shows as a fact a rule matches that the prefilter drops,
or a goods line that fires a rule but does not satisfy the rule's counted condition."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rulepack_support import example_cases

from engine.rules.caps import CapsLedger, MemoryEvents, counted_condition, counts
from engine.rules.catalogue import UNKNOWN_LEVEL
from engine.rules.examples import ExampleRunner
from engine.rules.loader import RulePack
from engine.rules.schema import All, AnyOf, Node, Not, RefStatus


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"rule_id", "kind", "index"} <= set(metafunc.fixturenames):
        metafunc.parametrize(("rule_id", "kind", "index"), example_cases())


@pytest.fixture(scope="module")
def runners(repo_pack: RulePack) -> Iterator[tuple[ExampleRunner, ExampleRunner]]:
    filtered, unfiltered = ExampleRunner(repo_pack), ExampleRunner(repo_pack, prefilter=False)
    yield filtered, unfiltered
    filtered.close()
    unfiltered.close()


def _register_under_not(node: Node, negated: bool = False) -> bool:
    """A register leaf under a negation: the caps ledger reads it as satisfied (a notified supply
    still counts), so its negation is false there while the rule may fire."""
    if isinstance(node, All | AnyOf):
        return any(_register_under_not(n, negated) for n in node.items)
    if isinstance(node, Not):
        return _register_under_not(node.item, not negated)
    return negated and isinstance(node, RefStatus)


def test_example_paths(
    runners: tuple[ExampleRunner, ExampleRunner],
    repo_pack: RulePack,
    rule_id: str,
    kind: str,
    index: int,
) -> None:
    filtered, unfiltered = runners
    rule = repo_pack.rule(rule_id)
    example = getattr(rule.examples, kind)[index]
    _facts, with_pf = filtered.durable(example)
    facts, without = unfiltered.durable(example)
    # the prefilter only saves work: the same matches with and without it
    assert with_pf == without
    prefilter = filtered.evaluator._prefilter
    by_key = {f.key: f for f in facts}
    matched = [(by_key[k], lvl) for (k, r), lvl in without.items() if r == rule_id]
    for fact, _lvl in matched:
        assert prefilter.fact_may_match(fact.kind, fact.fields), fact.key
        assert prefilter.rule_may_match(rule_id, fact.fields), fact.key
    if kind == "fire":
        assert matched, f"{example.event.event_id}: fires no fact"
    # the caps ledger's line selection: a goods line that fires the rule at a known level
    # satisfies the rule's counted condition, and the ledger counts it
    cond = counted_condition(rule)
    if _register_under_not(cond):
        return
    ledger = CapsLedger(repo_pack.rules, MemoryEvents())
    for fact, lvl in matched:
        if fact.kind != "goods" or lvl == UNKNOWN_LEVEL:
            continue
        assert counts(cond, fact), f"{fact.key} fires {rule_id} at {lvl} but does not count"
        if rule.cap is not None:
            lines = {n for n, _ in ledger.counted_lines(rule, rule.cap, example.event)}
            assert fact.payload["line"] in lines

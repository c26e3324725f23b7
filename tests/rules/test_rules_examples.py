"""Every example of every rule file in rules/ runs through BOTH evaluators (durable path and the
independent oracle): they must agree, `fire` examples must fire their rule, `clear` ones must not.
Parametrised over the whole pack, so rule files added later are covered automatically."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.rules.examples import ExampleRunner
from engine.rules.loader import load_pack

RULES = Path(__file__).resolve().parents[2] / "rules"
PACK = load_pack(RULES)
CASES = [
    pytest.param(rule.id, kind, i, id=f"{rule.id}-{kind}{i}")
    for rule in PACK.rules
    for kind in ("fire", "clear")
    for i in range(len(getattr(rule.examples, kind)))
]


@pytest.fixture(scope="module")
def runner():
    r = ExampleRunner(PACK)
    yield r
    r.close()


def test_pack_has_the_arms_embargo_rules():
    ids = {r.id for r in PACK.rules}
    assert {
        "UNSCR-1718-OP8a-i",
        "UNSCR-1718-OP8b",
        "UNSCR-1874-OP9",
        "UNSCR-1874-OP10",
        "UNSCR-2270-OP6",
    } <= ids


@pytest.mark.parametrize(("rule_id", "kind", "index"), CASES)
def test_example(runner, rule_id, kind, index):
    rule = PACK.rule(rule_id)
    example = getattr(rule.examples, kind)[index]
    outcome = runner.run(rule, kind, example)
    assert outcome.agree, outcome.problem()
    if kind == "fire":
        assert rule_id in outcome.fired, outcome.problem()
        assert any(r == rule_id for (_k, r) in outcome.durable)
    else:
        assert rule_id not in outcome.fired, outcome.problem()

"""Every example of every rule file in rules/ runs through BOTH evaluators (durable path and the
independent oracle): they must agree, `fire` examples must fire their rule, `clear` ones must not.
Parametrised over the whole pack, so rule files added later are covered automatically."""

from __future__ import annotations

import pytest
from rulepack_support import example_cases

from engine.rules.examples import ExampleRunner


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # the cases need the pack's rule ids: loaded at collection (once per session), not at import
    if {"rule_id", "kind", "index"} <= set(metafunc.fixturenames):
        metafunc.parametrize(("rule_id", "kind", "index"), example_cases())


@pytest.fixture(scope="module")
def runner(repo_pack):
    r = ExampleRunner(repo_pack)
    yield r
    r.close()


def test_pack_has_the_arms_embargo_rules(repo_pack):
    ids = {r.id for r in repo_pack.rules}
    assert {
        "UNSCR-1718-OP8a-i",
        "UNSCR-1718-OP8b",
        "UNSCR-1874-OP9",
        "UNSCR-1874-OP10",
        "UNSCR-2270-OP6",
    } <= ids


def test_example(runner, repo_pack, rule_id, kind, index):
    rule = repo_pack.rule(rule_id)
    example = getattr(rule.examples, kind)[index]
    outcome = runner.run(rule, kind, example)
    assert outcome.agree, outcome.problem()
    if kind == "fire":
        assert rule_id in outcome.fired, outcome.problem()
        assert any(r == rule_id for (_k, r) in outcome.durable)
    else:
        assert rule_id not in outcome.fired, outcome.problem()

"""Both evaluators behind one small interface, for the rule-pack tests: the durable_rules
Evaluator (what the worker runs) and the plain-Python Oracle (an independent interpreter)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.evaluator import Evaluator
from engine.rules.loader import RulePack, load_pack
from engine.rules.oracle import Oracle

EVALUATORS = ("durable", "oracle")


@dataclass
class FixedHits:
    """A screener that returns the same hits for every event (what screening would have found)."""

    hits: list[ScreeningHit] = field(default_factory=list)

    def screen(self, event: Event) -> list[ScreeningHit]:
        return list(self.hits)

    def version_at(self, when: datetime) -> str | None:
        return "test-list"


@dataclass
class _V:
    rule_id: str
    reason: str | None


@dataclass
class _D:
    violations: list[_V]


class OracleEvaluator:
    def __init__(self, pack: RulePack, caps: Any = None, hits: Sequence[ScreeningHit] = ()) -> None:
        self.oracle = Oracle(pack, pack.register, caps)
        self.hits = list(hits)

    def evaluate(self, event: Event) -> _D:
        return _D([_V(r, None) for r in sorted(self.oracle.fired_rules(event, self.hits))])


_CACHE: dict[tuple[str, int], Evaluator] = {}


def make_evaluator(
    kind: str, pack: RulePack, caps: Any = None, hits: Sequence[ScreeningHit] = ()
) -> Any:
    if kind == "oracle":
        return OracleEvaluator(pack, caps, hits)
    if caps is None and not hits:
        # compiling the full pack into durable_rules takes a moment: reuse one per pack
        key = (pack.version, 0)
        if key not in _CACHE:
            _CACHE[key] = Evaluator(pack)
        return _CACHE[key]
    return Evaluator(pack, screener=FixedHits(list(hits)) if hits else None, caps=caps)


def fired(evaluator: Any, event: Event) -> set[str]:
    return {v.rule_id for v in evaluator.evaluate(event).violations}


REPO_RULES = Path(__file__).resolve().parents[1] / "rules"


@cache
def repo_pack() -> RulePack:
    """The repository's rule pack, loaded once per test process at its first use (never at
    import): the ``repo_pack`` session fixture, and parametrisation hooks that need rule ids."""
    return load_pack(REPO_RULES)


def example_cases() -> list[Any]:
    """One pytest param per example of every rule of the repository's pack: (rule id, kind, i)."""
    import pytest

    return [
        pytest.param(rule.id, kind, i, id=f"{rule.id}-{kind}{i}")
        for rule in repo_pack().rules
        for kind in ("fire", "clear")
        for i in range(len(getattr(rule.examples, kind)))
    ]

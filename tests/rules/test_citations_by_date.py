"""A violation cites the resolutions that existed when the event happened: also_cites entries
adopted after the event's year (later restatements of the measure) are left out."""

from __future__ import annotations

import re

from rulepack_support import make_evaluator, repo_pack

from engine.models.events import Event
from engine.rules.evaluator import Evaluator


def _evaluator() -> Evaluator:
    return make_evaluator("durable", repo_pack())  # one per pack and process


def _year(resolution: str) -> int:
    return int(re.search(r"\((\d{4})\)", resolution).group(1))


def test_no_fire_example_cites_a_later_resolution_beyond_its_primary() -> None:
    checked = 0
    for rule in repo_pack().rules:
        for example in rule.examples.fire:
            raw = example.event if hasattr(example, "event") else example
            event = Event.model_validate(
                raw if isinstance(raw, dict) else raw.model_dump(mode="json")
            )
            decision = _evaluator().evaluate(event)
            for v in decision.violations:
                primary, *others = v.citations
                assert primary.resolution == str(repo_pack().by_id[v.rule_id].citation.resolution)
                for c in others:
                    assert _year(c.resolution) <= event.occurred_at.year, (
                        v.rule_id,
                        event.event_id,
                        c,
                    )
                checked += 1
    assert checked > 200


def test_a_restatement_is_cited_once_it_exists() -> None:
    def arms_to_yemen(when: str) -> list[str]:
        event = Event.model_validate({
            "event_id": f"ye-{when}", "event_type": "shipment", "occurred_at": when, "source": "test",
            "shipment": {"mode": "sea", "origin": {"country": "IR"}, "destination": {"country": "YE"},
                         "goods": [{"hs_code": "930190", "description": "rifles", "quantity": 10, "unit": "pcs"}]}})  # fmt: skip
        (v,) = [
            v
            for v in _evaluator().evaluate(event).violations
            if v.rule_id == "UNSCR-2216-OP14-ENDUSE"
        ]
        return [c.resolution for c in v.citations]

    assert arms_to_yemen("2016-05-01T00:00:00Z") == ["2216 (2015)"]
    assert arms_to_yemen("2024-05-01T00:00:00Z") == ["2216 (2015)", "2624 (2022)", "2707 (2023)"]

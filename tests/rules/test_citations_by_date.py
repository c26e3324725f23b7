"""A violation cites the resolutions that existed when the event happened: also_cites entries
adopted after the event's year (later restatements of the measure) are left out."""

from __future__ import annotations

import re

from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack

PACK = load_pack()
EVALUATOR = Evaluator(PACK)


def _year(resolution: str) -> int:
    return int(re.search(r"\((\d{4})\)", resolution).group(1))


def test_no_fire_example_cites_a_later_resolution_beyond_its_primary() -> None:
    checked = 0
    for rule in PACK.rules:
        for example in rule.examples.fire:
            raw = example.event if hasattr(example, "event") else example
            event = Event.model_validate(
                raw if isinstance(raw, dict) else raw.model_dump(mode="json")
            )
            decision = EVALUATOR.evaluate(event)
            for v in decision.violations:
                primary, *others = v.citations
                assert primary.resolution == str(PACK.by_id[v.rule_id].citation.resolution)
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
            v for v in EVALUATOR.evaluate(event).violations if v.rule_id == "UNSCR-2216-OP14-ENDUSE"
        ]
        return [c.resolution for c in v.citations]

    assert arms_to_yemen("2016-05-01T00:00:00Z") == ["2216 (2015)"]
    assert arms_to_yemen("2024-05-01T00:00:00Z") == ["2216 (2015)", "2624 (2022)", "2707 (2023)"]

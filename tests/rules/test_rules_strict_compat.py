"""Issue 8: the tolerant intake stays v1-compatible. An event the strict v1 contract accepts
(``Prefer: handling=strict``) carries no data-quality finding, reads back as the same event, and
is decided on known facts only: no unknown-level match, no "needs information", no finding in the
decision. Over generated v1 events (the agreement test's generators, built from the pack's own
vocabulary) and over every rule example of the pack that is valid v1.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from test_rules_agreement import caps_usage, events, hits, world

from engine.models.validation import validate_event
from engine.rules.catalogue import UNKNOWN_LEVEL


def _strict_and_tolerant(raw: dict):
    strict, errors = validate_event(raw, strict=True)
    tolerant, tolerant_errors = validate_event(raw)
    return strict, errors, tolerant, tolerant_errors


def check_v1_event(raw: dict, found, usage) -> None:
    strict, errors, tolerant, tolerant_errors = _strict_and_tolerant(raw)
    assume(strict is not None)  # only events the strict contract takes
    assert tolerant is not None and not tolerant_errors
    assert tolerant.quality == [] and tolerant == strict
    w = world()
    w.CAPS.value = usage
    w.SCREENER.hits = found
    matches = w.ORACLE.matches(tolerant, found, prefix="p")
    assert UNKNOWN_LEVEL not in set(matches.values()), matches
    decision = w.EVALUATOR.evaluate(tolerant)
    assert decision.data_quality == [] and decision.needs_information is False
    assert not any(v.needs_information or v.unknown for v in decision.violations)
    assert {v.rule_id for v in decision.violations} == {r for (_k, r) in matches}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events(), found=hits(), usage=caps_usage)
def test_a_strict_v1_event_is_decided_on_known_facts_only(event, found, usage) -> None:
    check_v1_event(event.model_dump(mode="json", exclude_none=True), found, usage)


def test_every_v1_rule_example_has_no_finding_and_keeps_its_outcome() -> None:
    """The rule examples' outcomes are checked by test_rules_examples; here: the valid-v1 ones
    are read by the tolerant intake without a finding (so decided as v1 decided them)."""
    checked = 0
    pack = world().PACK
    for rule in pack.rules:
        for ex in [*rule.examples.fire, *rule.examples.clear]:
            raw = ex.event.model_dump(mode="json", exclude_none=True)
            strict, _errors, tolerant, _ = _strict_and_tolerant(raw)
            if strict is None:
                continue  # an example of a messy report (tolerant intake) on purpose
            assert tolerant is not None and tolerant.quality == [], (rule.id, tolerant)
            assert tolerant == strict
            checked += 1
    assert checked >= len(pack.rules)  # most examples are plain v1 events

"""VesselHistory.may_hold (the evaluator's shortcut for events without a vessel) says False only
where every history test answers NO: the event has no sighting of its own vessel."""

from __future__ import annotations

from rulepack_support import repo_pack

from engine.vessels.history import VesselHistory
from engine.vessels.profile import sightings_of


def test_may_hold_is_false_exactly_for_events_without_a_vessel_of_their_own() -> None:
    history = VesselHistory()
    events = [
        e.event for rule in repo_pack().rules for e in [*rule.examples.fire, *rule.examples.clear]
    ]
    answers = {history.may_hold(e) for e in events}
    assert answers == {True, False}  # the examples have both kinds
    for event in events:
        own = any(s.role == "vessel" for s in sightings_of(event))
        assert history.may_hold(event) is own, event.event_id

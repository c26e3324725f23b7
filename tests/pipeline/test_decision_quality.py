"""Issue 8: a decision keeps its data-quality findings and its "needs information" marker.

Messy events go in through the real HTTP API, are decided by the worker's task (eager Celery,
real database, the process-wide evaluator), and come back from ``GET /api/v1/events/<id>``, on
the alert page and in a replay.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow

# Arms (HS 9306) from Germany to a destination the source could not name: the unknown decides.
UNKNOWN_DESTINATION = {
    "event_id": "dq-unknown-dest",
    "event_type": "shipment",
    "occurred_at": "2023-09-07T06:00:00+09:00",
    "source": "tms-dq",
    "shipment": {
        "origin": {"country": "DE"},
        "destination": {"name": "somewhere"},
        "goods": [
            {"hs_code": "9306", "description": "artillery ammunition", "quantity": 10, "unit": "t"}
        ],
    },
}

# Arms out of Rajin (a port name, no country) in "tonnes", a day-only date: fires on known facts.
INTERPRETED = {
    "event_id": "dq-interpreted",
    "event_type": "shipment",
    "occurred_at": "2023-09-07",
    "source": "tms-dq",
    "shipment": {
        "origin": "Rajin",
        "destination": {"country": "Russian Federation"},
        "goods": [{"hs_code": "HS 9306", "description": "shells", "quantity": 3, "unit": "tonnes"}],
    },
}


@pytest.fixture
def decided(api_client, db):
    from engine.pipeline.tasks import evaluate_events

    def _decide(raw: dict) -> dict:
        r = api_client.post("/api/v1/events", json=raw)
        assert r.status_code == 202, r.get_data(as_text=True)
        assert evaluate_events.apply(args=[[raw["event_id"]]]).get() == 1
        got = api_client.get(f"/api/v1/events/{raw['event_id']}")
        assert got.status_code == 200
        return got.json

    return _decide


def _alert_id(event_id: str, rule_id: str) -> int:
    with get_engine().connect() as conn:
        return conn.scalar(
            select(AlertRow.id).where(AlertRow.event_id == event_id, AlertRow.rule_id == rule_id)
        )


def test_an_unknown_deciding_value_is_stored_served_and_marked(decided, client) -> None:
    body = decided(UNKNOWN_DESTINATION)
    decision = body["decision"]
    assert decision["status"] == "flagged"
    assert decision["needs_information"] is True
    findings = {f["pointer"]: f for f in decision["data_quality"]}
    assert findings["/shipment/destination/country"]["unknown"] is True
    assert set(findings["/shipment/destination/country"]) >= {"pointer", "message", "assumed"}
    fired = {v["rule_id"]: v for v in decision["violations"]}
    assert fired["UNSCR-1874-OP10"]["needs_information"] is True

    page = client.get(f"/alerts/{_alert_id('dq-unknown-dest', 'UNSCR-1874-OP10')}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="needs-information"' in html and "Needs information" in html
    assert "/shipment/destination/country" in html
    queue = client.get("/alerts").get_data(as_text=True)
    assert "needs information" in queue


def test_interpretations_are_stored_and_shown_but_do_not_mark(decided, client) -> None:
    body = decided(INTERPRETED)
    decision = body["decision"]
    assert decision["status"] == "flagged"
    assert decision["needs_information"] is False
    assumed = {f["pointer"]: f["assumed"] for f in decision["data_quality"]}
    assert assumed["/shipment/goods/0/unit"] == 'interpreted "tonnes" as t'
    assert assumed["/occurred_at"].startswith('interpreted "2023-09-07" as 2023-09-07T00:00:00')
    assert "KPNJN" in assumed["/shipment/origin"]
    assert not any(f["unknown"] for f in decision["data_quality"])

    html = client.get(f"/alerts/{_alert_id('dq-interpreted', 'UNSCR-1874-OP9')}").get_data(
        as_text=True
    )
    assert "interpreted &#34;tonnes&#34; as t" in html or 'interpreted "tonnes" as t' in html
    assert "/shipment/goods/0/unit" in html
    assert 'id="needs-information"' not in html


def test_a_clean_event_has_no_finding(decided, client) -> None:
    from pipeline_support import flagged_event

    decision = decided(flagged_event("dq-clean"))["decision"]
    assert decision["data_quality"] == [] and decision["needs_information"] is False
    html = client.get(f"/alerts/{_alert_id('dq-clean', 'UNSCR-1874-OP9')}").get_data(as_text=True)
    assert "No data-quality finding" in html


def test_a_replay_reproduces_the_findings_and_notices_a_changed_one(decided) -> None:
    from engine.pipeline.decide import get_evaluator
    from engine.replay import ensure_pack_stored, replay
    from engine.rules.caps import default_caps

    ensure_pack_stored(get_evaluator().pack)  # the worker stores it once per process
    decided(UNKNOWN_DESTINATION)
    decided(INTERPRETED)
    for event_id in ("dq-unknown-dest", "dq-interpreted"):
        result = replay(event_id, caps=default_caps())
        assert result.identical, result.diff
        assert result.replayed.data_quality == result.original.data_quality != []
    # A stored decision that had assumed something else is not reproduced silently.
    with get_engine().begin() as conn:
        conn.execute(
            update(DecisionRow)
            .where(DecisionRow.event_id == "dq-unknown-dest")
            .values(data_quality=None, needs_information=False)
        )
    result = replay("dq-unknown-dest", caps=default_caps())
    assert not result.identical
    assert "needs_information: False -> True" in result.diff
    assert any(d.startswith("+ data_quality /shipment/destination/country") for d in result.diff)

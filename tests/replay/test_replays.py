"""Replays requested from the web app: the request row, the message on the real broker, the task
body run in this process against the real database and the real rule pack, and the pages.
(The worker-process round trip is in test_replays_integration.py.)"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import web_seed
from pipeline_support import redis_client
from sqlalchemy import func, select, update

from engine.pipeline.ingest import ingest_batch
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.replay_tables import ReplayRow
from engine.storage.tables import AlertRow, DecisionRow, EventRow

REPLAYERS = ("auditor", "senior_officer", "admin")


def najin_dunay(event_id: str = "tms-7:BL-0917") -> dict[str, Any]:
    raw = copy.deepcopy(web_seed.NAJIN_DUNAY)
    raw["event_id"] = event_id
    return raw


def decide(raw: dict[str, Any]) -> None:
    """Store and evaluate an event exactly as the worker does (real evaluator, pack recorded)."""
    from engine.pipeline.decide import decide_stored, get_evaluator
    from engine.replay import ensure_pack_stored

    # The worker records its pack once per process; the db fixture empties the tables per test.
    ensure_pack_stored(get_evaluator().pack)
    (result,) = ingest_batch([raw], channel="cli")
    assert result.accepted
    assert decide_stored([raw["event_id"]]) == [raw["event_id"]]


def replay_row(replay_id: int) -> ReplayRow:
    with session_scope() as s:
        row = s.get(ReplayRow, replay_id)
        assert row is not None
        return row


def queued_replay_ids(broker_url: str) -> list[int]:
    import base64

    out = []
    for item in redis_client(broker_url).lrange("sanctions", 0, -1):
        message = json.loads(item)
        if message.get("headers", {}).get("task") == "sanctions.replay_decision":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            out.append(args[0])
    return out


@pytest.fixture
def clean_queue(broker_url: str) -> str:
    redis_client(broker_url).delete("sanctions")
    yield broker_url
    redis_client(broker_url).delete("sanctions")


@pytest.fixture
def app(db: None, clean_queue: str):
    from web import create_app

    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_request_queues_the_task_and_the_task_replays_identically(
    db: None, clean_queue: str
) -> None:
    from engine.pipeline.replay_tasks import replay_decision, request_replay, run_replay

    raw = najin_dunay()
    decide(raw)
    row = request_replay(raw["event_id"], "aud")
    assert row.status == "queued" and row.requested_by == "aud" and row.requested_at is not None
    assert queued_replay_ids(clean_queue) == [row.id]

    assert replay_decision.run(row.id) == "done"  # the task body, in this process
    done = replay_row(row.id)
    with session_scope() as s:
        stored = s.scalar(select(DecisionRow).where(DecisionRow.event_id == raw["event_id"]))
    assert done.status == "done" and done.identical is True and done.diff == []
    assert done.original["status"] == stored.status == "flagged"
    assert {v["rule_id"] for v in done.original["violations"]} == {
        v["rule_id"] for v in stored.violations
    }
    assert done.replayed["violations"] == done.original["violations"]
    assert done.rule_pack_version == stored.rule_pack_version and len(done.rule_pack_version) == 64
    assert done.list_version == done.replayed["list_version"]
    assert done.started_at is not None and done.finished_at >= done.started_at

    # A redelivered message leaves the finished row alone.
    finished = done.finished_at
    assert run_replay(row.id) == "done"
    assert replay_row(row.id).finished_at == finished


def test_a_changed_stored_decision_replays_as_different(db: None, clean_queue: str) -> None:
    from engine.pipeline.replay_tasks import request_replay, run_replay

    raw = najin_dunay("tms-7:BL-0918")
    decide(raw)
    with session_scope() as s:
        s.execute(
            update(DecisionRow)
            .where(DecisionRow.event_id == raw["event_id"])
            .values(status="clear", violations=[])
        )
    row = request_replay(raw["event_id"], "aud")
    assert run_replay(row.id) == "done"
    done = replay_row(row.id)
    assert done.identical is False
    assert "status: clear -> flagged" in done.diff
    assert any(line.startswith("+ ") and "now fires" in line for line in done.diff)


def test_unreplayable_requests(db: None, clean_queue: str) -> None:
    from engine.pipeline.replay_tasks import ReplayRequestError, request_replay, run_replay

    with pytest.raises(ReplayRequestError, match="no stored event"):
        request_replay("nope", "aud")
    (result,) = ingest_batch([najin_dunay("undecided")], channel="cli")
    with pytest.raises(ReplayRequestError, match="no decision yet"):
        request_replay("undecided", "aud")
    # Decided under a pack that was never recorded: the task records why it failed.
    web_seed.store(
        web_seed.shipment("e-unknown-pack"), [web_seed.violation()]
    )  # pack "test-pack-1"
    row = request_replay("e-unknown-pack", "aud")
    assert run_replay(row.id) == "failed"
    failed = replay_row(row.id)
    assert (
        failed.status == "failed"
        and "test-pack-1 is not stored" in failed.error
        and failed.identical is None
    )
    assert run_replay(987654) == "missing"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ReplayRow)) == 1


def test_unreachable_broker_marks_the_request_failed(db: None) -> None:
    from engine.pipeline import replay_tasks

    web_seed.store(web_seed.shipment("e-1"), [web_seed.violation()])
    row = replay_tasks.request_replay(
        "e-1", "aud", broker="redis://127.0.0.1:1/0"
    )  # nothing listens
    assert row.status == "failed" and "could not be reached" in row.error


def _alert_state(alert_id: int) -> tuple:
    with session_scope() as s:
        a = s.get(AlertRow, alert_id)
        return a.status, a.resolution, a.assignee, a.updated_at, a.violation


@pytest.mark.parametrize("role", REPLAYERS)
def test_replay_button_on_the_alert_page_changes_no_alert(
    app, login_as, clean_queue: str, role: str
) -> None:
    from engine.pipeline.replay_tasks import run_replay

    raw = najin_dunay()
    decide(raw)
    with session_scope() as s:
        alert_id = s.scalar(select(AlertRow.id).where(AlertRow.event_id == raw["event_id"]))
    before = _alert_state(alert_id)
    client = app.test_client()
    login_as(client, role, f"{role}-1")  # (creating the account is audited)
    with session_scope() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditRow))
    page = client.get(f"/alerts/{alert_id}").text
    assert "Replay this decision" in page and 'action="/replays"' in page

    resp = client.post("/replays", data={"event_id": raw["event_id"], "alert_id": str(alert_id)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/alerts/{alert_id}")
    with session_scope() as s:
        (row,) = s.scalars(select(ReplayRow))
        assert s.scalar(select(func.count()).select_from(AuditRow)) == audit_before
    assert row.requested_by == f"{role}-1" and row.alert_id == alert_id and row.status == "queued"
    assert queued_replay_ids(clean_queue) == [row.id]
    assert "queued" in client.get(f"/alerts/{alert_id}").text

    assert run_replay(row.id) == "done"
    assert _alert_state(alert_id) == before  # a replay changes nothing on the alert
    html = client.get("/replays").text
    assert re.search(
        rf'<tr id="replay-{row.id}">.*?replay-done.*?flagged → flagged.*?<b class="identical">yes</b>',
        html,
        re.S,
    )
    assert raw["event_id"] in html and f"by {role}-1" in html
    detail = client.get(f"/alerts/{alert_id}").text
    assert f'id="replay-{row.id}"' in detail and '<b class="identical">yes</b>' in detail


def test_officers_cannot_replay_and_do_not_see_the_button(app, login_as) -> None:
    alert_id = web_seed.najin_dunay()
    client = app.test_client()
    login_as(client, "officer")
    assert "Replay this decision" not in client.get(f"/alerts/{alert_id}").text
    assert (
        client.post("/replays", data={"event_id": web_seed.NAJIN_DUNAY["event_id"]}).status_code
        == 403
    )
    assert client.get("/replays").status_code == 403
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ReplayRow)) == 0


def test_request_form_checks(app, login_as, clean_queue: str) -> None:
    alert_id = web_seed.najin_dunay()
    other = web_seed.store(web_seed.shipment("e-other"), [web_seed.violation()])[0]
    client = app.test_client()
    login_as(client, "auditor")
    resp = client.post("/replays", data={"event_id": "no-such"}, follow_redirects=True)
    assert "Not replayed: no stored event" in resp.text
    # the alert named must be the event's own
    assert (
        client.post("/replays", data={"event_id": "e-other", "alert_id": str(alert_id)}).status_code
        == 400
    )
    assert client.post("/replays", data={"event_id": "e-other", "alert_id": "x"}).status_code == 400
    assert (
        client.post("/replays", data={"event_id": "e-other", "alert_id": str(other)}).status_code
        == 303
    )
    with session_scope() as s:
        assert [r.event_id for r in s.scalars(select(ReplayRow))] == ["e-other"]
    filtered = client.get("/replays?event_id=e-other").text
    assert "1 replay," in filtered
    assert "0 replays" in client.get(f"/replays?event_id={web_seed.NAJIN_DUNAY['event_id']}").text


def test_request_needs_a_csrf_token(db: None, login_as, clean_queue: str) -> None:
    from web import create_app

    web_seed.najin_dunay()
    client = create_app({"TESTING": True}).test_client()
    login_as(client, "auditor")
    resp = client.post("/replays", data={"event_id": web_seed.NAJIN_DUNAY["event_id"]})
    assert resp.status_code == 400
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ReplayRow)) == 0
        assert s.scalar(select(func.count()).select_from(EventRow)) == 1

"""Ingest over HTTP (/api/v1): store before enqueue, idempotency, field errors, batches, schema.

Real database and real broker; no worker runs here, so published tasks stay on the queue where
the tests read them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_support import clear_event, flagged_event, queued_event_ids, redis_client
from sqlalchemy import func, select

from engine.models.events import json_schema
from engine.storage.db import get_engine
from engine.storage.repository import sha256_of
from engine.storage.tables import EventRow, RejectionRow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue(broker_url: str):
    client = redis_client(broker_url)
    client.delete("sanctions")
    yield client
    client.delete("sanctions")


def stored(event_id: str) -> EventRow | None:
    from engine.storage.db import session_scope

    with session_scope() as s:
        return s.scalars(select(EventRow).where(EventRow.event_id == event_id)).first()


def count(model) -> int:
    with get_engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_single_event_is_stored_then_queued(api_client, queue) -> None:
    raw = flagged_event("t:1")
    raw["shipment"]["x_booking_ref"] = "BK-1"  # unknown extra field: kept
    raw["x_upstream_trace"] = {"span": 7}
    r = api_client.post("/api/v1/events", json=raw)
    assert r.status_code == 202, r.json
    body = r.json
    assert body["status"] == "accepted" and body["event_id"] == "t:1" and body["queued"] is True
    row = stored("t:1")
    assert row is not None and row.status == "received"
    assert row.raw == raw  # exactly what was sent, extra fields included
    assert row.sha256 == sha256_of(raw) == body["sha256"]
    assert row.occurred_at is not None and row.event_type == "shipment"
    assert queued_event_ids(queue) == ["t:1"]


def test_same_body_again_is_a_noop_returning_the_first_result(api_client, queue) -> None:
    raw = clear_event("t:dup")
    first = api_client.post("/api/v1/events", json=raw).json
    # same JSON value, different key order and whitespace: same canonical sha256
    reordered = json.dumps(dict(reversed(list(raw.items()))), indent=3)
    again = api_client.post("/api/v1/events", data=reordered, content_type="application/json")
    assert again.status_code == 202
    assert again.json["status"] == "duplicate"
    assert again.json["received_at"] == first["received_at"]
    assert again.json["sha256"] == first["sha256"]
    assert count(EventRow) == 1
    assert queued_event_ids(queue) == ["t:dup"]  # not queued a second time


def test_different_body_under_known_id_is_409_and_first_body_kept(api_client, queue) -> None:
    raw = clear_event("t:conflict")
    assert api_client.post("/api/v1/events", json=raw).status_code == 202
    changed = copy.deepcopy(raw)
    changed["shipment"]["goods"][0]["quantity"] = 999
    r = api_client.post("/api/v1/events", json=changed)
    assert r.status_code == 409
    assert r.json["status"] == "conflict" and r.json["errors"][0]["pointer"] == "/event_id"
    assert stored("t:conflict").raw == raw
    with get_engine().connect() as conn:
        rej = conn.execute(select(RejectionRow.channel, RejectionRow.event_id)).all()
    assert rej == [("http", "t:conflict")]


def test_invalid_event_is_422_with_json_pointers_and_nothing_stored(api_client, queue) -> None:
    """Strict mode (RFC 7240 ``Prefer: handling=strict``): every body problem is a 422."""
    raw = flagged_event("t:bad")
    raw["occurred_at"] = "2023-09-07T06:00:00"  # no offset
    raw["shipment"]["goods"][0]["hs_code"] = "93A6"
    r = api_client.post("/api/v1/events", json=raw, headers={"Prefer": "handling=strict"})
    assert r.status_code == 422
    assert r.headers["Preference-Applied"] == "handling=strict"
    pointers = {e["pointer"] for e in r.json["errors"]}
    assert {"/occurred_at", "/shipment/goods/0/hs_code"} <= pointers
    assert all(e["message"] for e in r.json["errors"])
    assert stored("t:bad") is None
    assert count(RejectionRow) == 1
    assert queued_event_ids(queue) == []


def test_batch_reports_each_item_and_valid_items_go_through(api_client, queue) -> None:
    good1, good2 = clear_event("b:1"), flagged_event("b:2")
    bad = clear_event("b:3")
    bad["occurred_at"] = "last Tuesday"  # an unusable envelope: the only refusal left
    api_client.post("/api/v1/events", json=clear_event("b:0"))
    conflict = clear_event("b:0")
    conflict["source"] = "someone-else"
    r = api_client.post(
        "/api/v1/events", json=[good1, bad, good2, good1, conflict, "not an object"]
    )
    assert r.status_code == 202
    statuses = [(x["index"], x["status"]) for x in r.json["results"]]
    assert statuses == [
        (0, "accepted"),
        (1, "invalid"),
        (2, "accepted"),
        (3, "duplicate"),
        (4, "conflict"),
        (5, "invalid"),
    ]
    assert r.json["summary"] == {"accepted": 2, "duplicate": 1, "conflict": 1, "invalid": 2}
    assert r.json["results"][1]["errors"][0]["pointer"] == "/occurred_at"
    assert stored("b:1") and stored("b:2") and stored("b:3") is None
    assert sorted(queued_event_ids(queue)) == ["b:0", "b:1", "b:2"]


def test_batch_where_every_item_fails_is_422(api_client, queue) -> None:
    r = api_client.post("/api/v1/events", json=[{"event_id": "x"}, 42])
    assert r.status_code == 422
    assert [x["status"] for x in r.json["results"]] == ["invalid", "invalid"]


def test_ndjson_batch_with_a_broken_line(api_client, queue) -> None:
    lines = [json.dumps(clear_event("n:1")), "{not json", "", json.dumps(flagged_event("n:2"))]
    r = api_client.post(
        "/api/v1/events", data="\n".join(lines), content_type="application/x-ndjson"
    )
    assert r.status_code == 202
    assert [x["status"] for x in r.json["results"]] == ["accepted", "invalid", "accepted"]
    assert "line 2" in r.json["results"][1]["errors"][0]["message"]
    assert stored("n:1") and stored("n:2")
    with get_engine().connect() as conn:
        assert conn.scalar(select(RejectionRow.raw)) == "{not json"


def test_more_than_1000_events_is_413(api_client, queue) -> None:
    r = api_client.post("/api/v1/events", json=[clear_event(f"big:{i}") for i in range(1001)])
    assert r.status_code == 413
    assert count(EventRow) == 0


@pytest.mark.parametrize("body", [b"", b"{oops", b"[]"])
def test_unusable_body_is_400(api_client, body: bytes) -> None:
    r = api_client.post("/api/v1/events", data=body, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]


def test_large_batch_is_queued_in_tasks_of_100(api_client, queue) -> None:
    r = api_client.post("/api/v1/events", json=[clear_event(f"q:{i}") for i in range(250)])
    assert r.status_code == 202 and r.json["summary"]["accepted"] == 250
    assert queue.llen("sanctions") == 3
    assert sorted(queued_event_ids(queue)) == sorted(f"q:{i}" for i in range(250))


def test_get_event_and_404(api_client) -> None:
    raw = flagged_event("g:1")
    api_client.post("/api/v1/events", json=raw)
    r = api_client.get("/api/v1/events/g:1")
    assert r.status_code == 200
    assert r.json["event"] == raw and r.json["status"] == "received" and r.json["decision"] is None
    assert api_client.get("/api/v1/events/nope").status_code == 404


def test_schema_endpoint_serves_contract_schema(api_client) -> None:
    r = api_client.get("/api/v1/schema")
    assert r.status_code == 200
    assert r.json == json_schema()
    assert "event_id" in r.json["properties"]


def test_committed_schema_file_is_current() -> None:
    from engine.push import SCHEMA_PATH, schema_text

    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "docs/event-contract-v1.schema.json is stale: run `sanctions schema --write`"
    )


def test_broker_down_still_stores_and_the_sweeper_queues(db, broker_url: str, queue) -> None:
    from conftest import make_api_client

    from engine.pipeline.sweeper import sweep_once

    # A closed port: the broker is unreachable for this app's publishes.
    client = make_api_client({"SANCTIONS_BROKER_URL": "redis://127.0.0.1:1/0"})
    r = client.post("/api/v1/events", json=[clear_event("down:1"), flagged_event("down:2")])
    assert r.status_code == 202
    assert [x["queued"] for x in r.json["results"]] == [False, False]
    assert stored("down:1").status == "received" and stored("down:2").status == "received"
    assert queued_event_ids(queue) == []
    assert sweep_once(grace=60) == 0  # still inside the grace period
    assert sweep_once(grace=0) == 2
    assert sorted(queued_event_ids(queue)) == ["down:1", "down:2"]


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=6
    )
)
def test_sha256_ignores_key_order_and_whitespace(obj: dict) -> None:
    reordered = dict(reversed(list(obj.items())))
    assert (
        sha256_of(obj) == sha256_of(reordered) == sha256_of(json.loads(json.dumps(obj, indent=2)))
    )


def test_nul_characters_are_refused_on_every_backend(api_client) -> None:
    raw = clear_event("nul:1")
    raw["shipment"]["reference"] = "A\u0000B"
    r = api_client.post("/api/v1/events", json=raw)
    assert r.status_code == 422 and r.json["errors"][0]["type"] == "nul_char"
    assert stored("nul:1") is None
    assert count(RejectionRow) == 1  # recorded, with the NUL made visible

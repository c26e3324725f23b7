"""Stored but not queued (issue 9): events accepted while the broker is down are published by the
outbox as soon as the broker is back (seconds), not by the sweeper minutes later; a batch that
was committed always answers with its per-item result."""

from __future__ import annotations

from pathlib import Path

from chaos_support import RedisServer, wait_until
from pipeline_support import clear_event, queued_event_ids


def test_events_accepted_while_the_broker_is_down_are_published_when_it_returns(
    db: None, tmp_path: Path
) -> None:
    from conftest import make_api_client

    from engine.pipeline.outbox import outbox

    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        server.kill()
        api = make_api_client({"SANCTIONS_BROKER_URL": server.url})
        r = api.post("/api/v1/events", json=[clear_event(f"ob-{i}") for i in range(30)])
        assert r.status_code == 202
        assert {x["status"] for x in r.json["results"]} == {"accepted"}
        assert {x["queued"] for x in r.json["results"]} == {False}  # told honestly
        one = api.post("/api/v1/events", json=clear_event("ob-single"))
        assert one.status_code == 202 and one.json["queued"] is False
        assert len(outbox()) >= 31
        server.start()  # no sweeper runs in this test: only the outbox can publish them
        expected = {f"ob-{i}" for i in range(30)} | {"ob-single"}
        assert wait_until(lambda: expected <= set(queued_event_ids(server.client())), timeout=60), (
            queued_event_ids(server.client())
        )
        assert wait_until(lambda: len(outbox()) == 0, timeout=30)
    finally:
        server.stop()

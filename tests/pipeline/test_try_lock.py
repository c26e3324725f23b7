"""The one Redis try-lock that the sweeper, the scheduled list import and the journal's
sequencer share (engine.pipeline.broker.try_lock), on the test run's real Redis: a second
holder is refused, the lock is freed on exit (also when the body raises), an unreachable Redis
lets the caller go on alone, and each of the three callers skips its work while another
process holds its key."""

from __future__ import annotations

import socket

import pytest
from lists_support import list_file
from pipeline_support import clear_event, flagged_event, queued_event_ids, redis_client

from engine.lists import schedule
from engine.pipeline import sweeper
from engine.pipeline.broker import try_lock

KEY = "sanctions-test:try-lock"


def test_a_second_holder_is_refused_until_the_first_lets_go(broker_url: str) -> None:
    with try_lock(KEY, 60, url=broker_url) as first:
        assert first is not None and first.client is not None
        assert redis_client(broker_url).exists(KEY) == 1
        with try_lock(KEY, 60, url=broker_url) as second:
            assert second is None
    assert redis_client(broker_url).exists(KEY) == 0
    with try_lock(KEY, 60, url=broker_url) as again:
        assert again is not None and again.client is not None


def test_the_lock_is_released_when_the_body_raises(broker_url: str) -> None:
    with pytest.raises(ZeroDivisionError), try_lock(KEY, 60, url=broker_url):
        _ = 1 / 0
    assert redis_client(broker_url).exists(KEY) == 0


def test_the_lock_expires_after_its_timeout(broker_url: str) -> None:
    with try_lock(KEY, 30, url=broker_url):
        ttl = redis_client(broker_url).pttl(KEY)
    assert 0 < ttl <= 30_000


def test_without_redis_the_caller_goes_on_alone() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with try_lock(KEY, 60, url=f"redis://127.0.0.1:{port}/0") as held:
        assert held is not None and held.client is None


def test_the_sweeper_skips_while_another_holds_its_lock(db: None, broker_url: str) -> None:
    from conftest import make_api_client

    client = redis_client(broker_url)
    client.delete("sanctions")
    # stored but not queued (the app's broker is a closed port): only the sweeper queues them
    api = make_api_client({"SANCTIONS_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert (
        api.post("/api/v1/events", json=[clear_event("lk:1"), flagged_event("lk:2")]).status_code
        == 202
    )
    lock = client.lock(sweeper.LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert sweeper.sweep_once(grace=0) == 0
        assert queued_event_ids(client) == []
    finally:
        lock.release()
    assert sweeper.sweep_once(grace=0) == 2
    assert sorted(queued_event_ids(client)) == ["lk:1", "lk:2"]
    client.delete("sanctions")


def test_the_scheduled_import_skips_while_another_holds_its_lock(db: None, broker_url: str) -> None:
    source = str(list_file("2026-05-08"))
    lock = redis_client(broker_url).lock(schedule.LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert schedule.import_if_due(source, interval=0) is None
        assert schedule.runs() == []
    finally:
        lock.release()
    run = schedule.import_if_due(source, interval=0)
    assert run is not None and schedule.runs()

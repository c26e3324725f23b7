"""Coalescing of small tasks: ids of single-event requests are also announced on the PENDING list,
and a small task decides the announced ids with its own. The list is only a hint: every id keeps
its own task, so popping without deciding loses nothing. Real database and real broker."""

from __future__ import annotations

import pytest
from pipeline_support import clear_event, flagged_event, queued_event_ids, redis_client
from sqlalchemy import func, select

from engine.pipeline.ingest import ingest_batch
from engine.pipeline.publish import enqueue_event_ids
from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow, EventRow, RejectionRow


def count(model, *where) -> int:
    with get_engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def queue(db: None, broker_url: str):
    from engine.pipeline.decide import get_evaluator
    from engine.pipeline.queues import PENDING

    get_evaluator()
    client = redis_client(broker_url)
    client.delete("sanctions", PENDING)
    yield client
    client.delete("sanctions", PENDING)


def test_single_events_are_announced_and_one_task_decides_them_all(queue) -> None:
    from engine.pipeline.queues import PENDING
    from engine.pipeline.tasks import evaluate_events

    for i in range(5):
        (r,) = ingest_batch(
            [flagged_event(f"co-{i}") if i == 0 else clear_event(f"co-{i}")],
            publish=enqueue_event_ids,
        )
        assert r.status == "accepted" and r.queued is True
    assert sorted(queued_event_ids(queue)) == [
        f"co-{i}" for i in range(5)
    ]  # each id keeps its own task
    assert [x.decode() for x in queue.lrange(PENDING, 0, -1)] == [f"co-{i}" for i in range(5)]
    assert evaluate_events.apply(args=[["co-0"]]).get() == 5  # its own id and the four announced
    assert queue.llen(PENDING) == 0
    assert count(DecisionRow) == 5 and count(EventRow, EventRow.status == "decided") == 5
    for i in range(1, 5):  # the other tasks find their event decided: no-ops
        assert evaluate_events.apply(args=[[f"co-{i}"]]).get() == 0
    assert count(DecisionRow) == 5
    with get_engine().connect() as conn:
        assert set(conn.scalars(select(AlertRow.event_id))) == {"co-0"}


def test_full_tasks_are_not_announced(queue) -> None:
    from engine.pipeline.queues import BATCH_SIZE, COALESCE_MAX, PENDING

    ingest_batch(
        [clear_event(f"full-{i}") for i in range(BATCH_SIZE + COALESCE_MAX + 1)],
        publish=enqueue_event_ids,
    )
    assert queue.llen("sanctions") == 2 and queue.llen(PENDING) == 0


def test_popped_but_undecided_ids_are_decided_by_their_own_task(queue) -> None:
    from engine.pipeline.queues import PENDING
    from engine.pipeline.tasks import evaluate_events

    ingest_batch([clear_event("lost-1")], publish=enqueue_event_ids)
    ingest_batch([clear_event("lost-2")], publish=enqueue_event_ids)
    # a worker popped both and died before deciding anything
    assert queue.lpop(PENDING, 10) == [b"lost-1", b"lost-2"]
    assert evaluate_events.apply(args=[["lost-2"]]).get() == 1
    assert evaluate_events.apply(args=[["lost-1"]]).get() == 1
    assert count(DecisionRow) == 2


def test_unknown_announced_ids_are_ignored_not_recorded(queue) -> None:
    from engine.pipeline.queues import PENDING
    from engine.pipeline.tasks import evaluate_events

    queue.rpush(PENDING, "not-in-this-database", "neither")
    ingest_batch([clear_event("known-1")], publish=enqueue_event_ids)
    assert evaluate_events.apply(args=[["known-1"]]).get() == 1
    assert count(RejectionRow) == 0
    # an unknown id in the task itself is still recorded
    assert evaluate_events.apply(args=[["never-stored"]]).get() == 0
    assert count(RejectionRow) == 1


def test_announced_events_already_decided_are_not_decided_again(queue) -> None:
    from engine.pipeline.decide import decide_stored
    from engine.pipeline.queues import PENDING
    from engine.pipeline.tasks import evaluate_events

    ingest_batch([flagged_event("twice-1")], publish=enqueue_event_ids)
    assert decide_stored(["twice-1"]) == ["twice-1"]
    ingest_batch([clear_event("twice-2")], publish=enqueue_event_ids)
    assert queue.llen(PENDING) == 2
    assert evaluate_events.apply(args=[["twice-2"]]).get() == 1
    assert count(DecisionRow) == 2
    with get_engine().connect() as conn:
        pairs = conn.execute(select(AlertRow.event_id, AlertRow.rule_id)).all()
    assert pairs and {p[0] for p in pairs} == {"twice-1"} and len(pairs) == len(set(pairs))


def test_direct_publish_writes_the_message_celery_would(queue) -> None:
    """engine.pipeline.publish builds evaluate_events messages itself (one round trip, far less CPU): they
    must stay what Celery's own apply_async puts on the queue, apart from ids."""
    import json

    from engine.pipeline.publish import enqueue_event_ids
    from engine.pipeline.queues import QUEUE
    from engine.pipeline.tasks import evaluate_events

    assert enqueue_event_ids(["direct-1", "direct-2"])
    evaluate_events.apply_async(
        (["direct-1", "direct-2"],), exchange="", routing_key=QUEUE, retry=False
    )
    celery_msg, direct_msg = (
        json.loads(m) for m in queue.lrange("sanctions", 0, -1)
    )  # LPUSH: newest first
    assert celery_msg["headers"]["id"] != direct_msg["headers"]["id"]
    for msg in (celery_msg, direct_msg):
        for key in ("id", "root_id", "origin"):
            msg["headers"].pop(key)
        for key in ("correlation_id", "delivery_tag", "reply_to"):
            msg["properties"].pop(key)
    assert direct_msg == celery_msg

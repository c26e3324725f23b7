"""Hostile queue messages against a REAL worker process (issue 9): every malformed
``ingest_raw`` / ``evaluate_events`` message is recorded in ``rejections`` with its reason (lone
surrogates, dates that overflow, wrong arguments, a past expiry, a far-future or unreadable ETA),
none is dropped silently, a valid event in the same payload is still decided, and the worker
keeps working."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipeline_support import clear_event, flagged_event, redis_client, wait_for
from sqlalchemy import select

from engine.pipeline.worker import start_worker, stop_worker
from engine.storage.db import get_engine
from engine.storage.tables import DecisionRow, RejectionRow

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(db, broker_url: str, tmp_path: Path):
    client = redis_client(broker_url)
    client.delete("sanctions", "unacked", "unacked_index", "unacked_mutex")
    env = dict(os.environ)
    env.update({"REDIS_URL": broker_url, "SANCTIONS_SWEEP_INTERVAL": "0", "PYTHONUNBUFFERED": "1"})
    log_path = tmp_path / "worker.log"
    proc = start_worker(
        env=env, concurrency=1, loglevel="INFO", hostname="hostile@%h", log_path=log_path
    )
    proc.log_path = log_path  # type: ignore[attr-defined]
    yield proc
    stop_worker(proc, timeout=10)
    assert proc.poll() is not None
    client.delete("sanctions", "unacked", "unacked_index")


def _log(proc) -> str:
    return proc.log_path.read_text(errors="replace")[-4000:]


def _decided(event_id: str) -> str | None:
    with get_engine().connect() as conn:
        return conn.scalar(select(DecisionRow.status).where(DecisionRow.event_id == event_id))


def _rejections() -> list[tuple[str | None, str, list[dict]]]:
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(RejectionRow.event_id, RejectionRow.raw, RejectionRow.errors).order_by(
                RejectionRow.id
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _publish(body: str, task: str, msg_id: str, **headers: object) -> None:
    """A protocol-2 task message as any producer could write it, headers included as given."""
    from engine.pipeline.celery_app import app

    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="sanctions",
            routing_key="sanctions",
            content_type="application/json",
            content_encoding="utf-8",
            serializer=None,
            declare=[app.amqp.queues["sanctions"]],
            headers={"task": task, "id": msg_id, "lang": "py", **headers},
        )


def test_hostile_queue_messages_are_recorded_and_siblings_decided(worker) -> None:
    from engine.pipeline.tasks import ingest_raw

    now = datetime.now(UTC)
    surrogate = flagged_event("q-surrogate")
    overflow = dict(clear_event("q-overflow"), occurred_at="0001-01-01T00:30:00+01:00")
    # 1. one payload: a valid event beside a lone surrogate and an overflowing date
    text = json.dumps([flagged_event("q-sibling"), surrogate, overflow])
    text = text.replace('"q-surrogate"', '"q-surrogate", "note": "\\udfff"', 1)
    ingest_raw.delay(text)
    # 2. the same as an already-decoded payload (a JSON body the broker's decoder read)
    _publish(
        '[[[{"event_id": "q-sur2", "x": "\\ud800"}, '
        + json.dumps(clear_event("q-sibling2"))
        + "]], {}, {}]",
        "sanctions.ingest_raw",
        "m-decoded",
    )
    # 3. wrong arguments (Celery's own client checks them; another producer need not)
    _publish(json.dumps([[], {}, {}]), "sanctions.ingest_raw", "m-noargs")
    _publish(
        json.dumps([[clear_event("q-args")], {"bogus": 1}, {}]), "sanctions.ingest_raw", "m-bogus"
    )
    _publish(json.dumps([[["a"], ["b"]], {}, {}]), "sanctions.evaluate_events", "m-two")
    # 4. expired before it was received; 5. far-future ETA; 6. unreadable and overflowing dates
    ingest_raw.apply_async(args=[clear_event("q-expired")], expires=now - timedelta(minutes=5))
    ingest_raw.apply_async(args=[clear_event("q-eta")], eta=now + timedelta(days=3650))
    body = json.dumps([[clear_event("q-bad-eta")], {}, {}])
    _publish(body, "sanctions.ingest_raw", "m-eta-junk", eta="not a date")
    _publish(body, "sanctions.ingest_raw", "m-eta-overflow", eta="0001-01-01T00:30:00+01:00")
    _publish(body, "sanctions.ingest_raw", "m-exp-overflow", expires="9999-12-31T23:59:59-01:00")
    # and ordinary work afterwards
    ingest_raw.delay(clear_event("q-after"))

    assert wait_for(lambda: _decided("q-after") == "clear", timeout=90), _log(worker)
    # The siblings' evaluations were published before q-after's, but the pipeline does not promise
    # that order (an evaluation whose publish failed is re-published by the outbox or the
    # sweeper later): wait for them too rather than assume it.
    assert wait_for(
        lambda: _decided("q-sibling") == "flagged" and _decided("q-sibling2") == "clear",
        timeout=90,
    ), _log(worker)
    wait_for(lambda: len(_rejections()) >= 11, timeout=30)
    rows = _rejections()
    text_of = [
        (eid, raw, " | ".join(f"{e['type']}: {e['message']}" for e in errs))
        for eid, raw, errs in rows
    ]
    report = "\n".join(map(str, text_of))

    def one(pred) -> tuple:
        found = [r for r in text_of if pred(r)]
        assert len(found) == 1, f"{len(found)} matches\n{report}"
        return found[0]

    one(lambda r: r[0] == "q-surrogate" and "surrogate" in r[2])
    one(lambda r: r[0] == "q-sur2" and "surrogate" in r[2])
    one(lambda r: r[0] == "q-overflow" and "UTC" in r[2])
    wrong = [r for r in text_of if "wrong arguments" in r[2]]
    assert len(wrong) == 3, report
    expired = one(lambda r: "expired at" in r[2])
    assert "q-expired" in expired[1]  # the payload is kept, not lost
    far = one(lambda r: "more than 1:00:00 ahead" in r[2])
    assert "q-eta" in far[1]
    assert len([r for r in text_of if "not a usable date" in r[2]]) == 3, report
    assert len(rows) == 11, report
    for eid in ("q-expired", "q-eta", "q-bad-eta", "q-args"):
        assert _decided(eid) is None
    assert worker.poll() is None, _log(worker)

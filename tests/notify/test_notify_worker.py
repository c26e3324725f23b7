"""The one integration test of notifications: a real worker process decides a pushed event,
files a critical case, and its dispatcher thread (not a task on the evaluation queue) posts the
signed webhook to a real receiver, retrying after a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest
from notify_support import webhook_receiver
from pipeline_support import flagged_event, redis_client, wait_for
from sqlalchemy import select

from engine.notify import endpoints
from engine.notify.tables import AttemptRow, DeliveryRow
from engine.pipeline.ingest import ingest_batch
from engine.pipeline.publish import enqueue_event_ids
from engine.pipeline.worker import start_worker, stop_worker
from engine.storage.db import get_engine

pytestmark = pytest.mark.integration


def test_a_worker_delivers_the_critical_case_webhook(db, broker_url: str, tmp_path: Path) -> None:
    client = redis_client(broker_url)
    client.delete("sanctions", "unacked", "unacked_index", "unacked_mutex")
    with webhook_receiver(statuses=[500]) as rx:
        with get_engine().begin() as conn:
            _, secret = endpoints.create(conn, rx.url, ["case.critical_opened"], "admin")
        env = {
            **os.environ,
            "REDIS_URL": broker_url,
            "SANCTIONS_SWEEP_INTERVAL": "0",
            "SANCTIONS_NOTIFY_INTERVAL": "0.2",
            "SANCTIONS_NOTIFY_BACKOFF_BASE": "0.01",
        }
        log = tmp_path / "worker.log"
        proc = start_worker(env=env, concurrency=1, loglevel="INFO", log_path=log)
        try:
            ingest_batch([flagged_event("nw-1")], channel="cli")
            assert enqueue_event_ids(["nw-1"])
            # a pool process loads the rule pack first: up to a minute on a loaded 2-core box
            assert rx.wait_for(2, timeout=240), log.read_text(errors="replace")[-4000:]
            assert wait_for(lambda: _status() == "delivered", timeout=60)
        finally:
            stop_worker(proc, timeout=10)
    first, second = rx.requests
    assert first.body == second.body
    doc = json.loads(second.body)
    assert doc["type"] == "case.critical_opened" and doc["data"]["event_id"] == "nw-1"
    t, v1 = (p.split("=", 1)[1] for p in second.headers["X-Sanctions-Signature"].split(","))
    assert (
        v1 == hmac.new(secret.encode(), t.encode() + b"." + second.body, hashlib.sha256).hexdigest()
    )
    with get_engine().connect() as conn:
        codes = list(conn.scalars(select(AttemptRow.status_code).order_by(AttemptRow.attempt)))
    assert codes == [500, 200]


def _status() -> str | None:
    with get_engine().connect() as conn:
        return conn.scalar(select(DeliveryRow.status))

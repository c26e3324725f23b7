"""The worker's Celery tasks, thin wrappers over ingest and decide (``celery -A
engine.pipeline.tasks worker``; importing this module registers every task of the app).

Tasks (queue ``sanctions``; the names are a contract with external producers):
- ``sanctions.evaluate_events(event_ids)``: up to 100 ids of STORED events (the DB is the source
  of truth); a single id string is accepted too.
- ``sanctions.ingest_raw(payload)``: raw event JSON put on the queue by an upstream system (one
  object, a list, or a JSON string): validated, stored and evaluated in place. Invalid input is
  recorded in ``rejections`` (channel ``queue``), never raised.
- ``sanctions.sweep()``: re-queue stored events without a decision (also run periodically).
- ``sanctions.replay_decision(replay_id)``: engine.pipeline.replay_tasks.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from sqlalchemy.exc import DBAPIError

from engine.gc_tuning import set_long_lived_thresholds
from engine.pipeline import replay_tasks as _replay_tasks  # noqa: F401 - registers its task
from engine.pipeline.celery_app import app
from engine.pipeline.decide import decide_stored, get_evaluator
from engine.pipeline.ingest import BodyError, ingest_batch, parse_body, summary
from engine.pipeline.publish import drain_pending
from engine.pipeline.queues import (
    BATCH_SIZE,
    COALESCE_MAX,
    EVALUATE_EVENTS,
    INGEST_RAW,
    SWEEP,
)
from engine.pipeline.sweeper import start_background_sweeper, sweep_once
from engine.storage import repository
from engine.storage.db import reset_engine

log = logging.getLogger(__name__)

_RETRY: dict[str, Any] = {
    "autoretry_for": (DBAPIError,),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@app.task(name=EVALUATE_EVENTS, **_RETRY)
def evaluate_events(event_ids: Any) -> int:
    if isinstance(event_ids, str):
        event_ids = [event_ids]
    if not isinstance(event_ids, list) or not all(isinstance(e, str) and e for e in event_ids):
        repository.record_rejection(
            "queue",
            event_ids,
            [
                {
                    "pointer": "",
                    "message": "evaluate_events takes a list of event_id strings",
                    "type": "malformed_task",
                }
            ],
        )
        return 0
    extra = drain_pending(BATCH_SIZE - len(event_ids)) if len(event_ids) <= COALESCE_MAX else []
    return len(decide_stored(event_ids, extra))


@app.task(name=INGEST_RAW, **_RETRY)
def ingest_raw(payload: Any) -> dict[str, int]:
    try:
        if isinstance(payload, str | bytes):
            items, _ = parse_body(payload, "application/json")
        else:
            items = payload if isinstance(payload, list) else [payload]
    except BodyError as exc:
        repository.record_rejection(
            "queue", payload, [{"pointer": "", "message": exc.message, "type": "json_invalid"}]
        )
        return {"invalid": 1}
    # Stored only (no publish): this task evaluates them in place.
    results = ingest_batch(items, channel="queue")
    todo = [r.event_id for r in results if r.accepted and r.state == "received" and r.event_id]
    for i in range(0, len(todo), BATCH_SIZE):
        decide_stored(todo[i : i + BATCH_SIZE])
    return summary(results)


@app.task(name=SWEEP)
def sweep() -> int:
    return sweep_once()


# -- worker process hooks ------------------------------------------------------------------------


@signals.worker_process_init.connect
def _fresh_process(**_: Any) -> None:
    # A forked child must not share the parent's pooled DB connections.
    reset_engine()
    try:
        get_evaluator()  # load the rule pack before the first message, not during it
    except Exception:
        log.exception("evaluator could not be loaded at worker start")
    set_long_lived_thresholds()  # the collector re-walked the pack for every event (gc_tuning)


@signals.worker_ready.connect
def _long_lived_main_process(**_: Any) -> None:
    set_long_lived_thresholds()  # the main process: the sweeper and the journal's sequencer


@signals.worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    start_background_sweeper()


@signals.worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    """Heartbeat for /readyz; metrics on SANCTIONS_METRICS_PORT when set (a worker machine)."""
    import os

    from engine.pipeline import metrics
    from engine.pipeline.readiness import start_heartbeat

    start_heartbeat(getattr(sender, "hostname", None))
    port = os.environ.get("SANCTIONS_METRICS_PORT")
    if port:
        try:
            metrics.serve(int(port), os.environ.get("SANCTIONS_METRICS_HOST", "127.0.0.1"))
        except (OSError, ValueError):
            log.exception("metrics port %s not served", port)


@signals.worker_shutdown.connect
def _stop_heartbeat(sender: Any = None, **_: Any) -> None:
    from engine.pipeline.readiness import stop_heartbeat

    stop_heartbeat(getattr(sender, "hostname", None))


@signals.worker_ready.connect
def _start_notify(**_: Any) -> None:
    # Webhook and e-mail delivery in the main process, off the evaluation queue (issue 14)
    from engine.notify.dispatch import start_background_dispatcher

    start_background_dispatcher()


@signals.worker_ready.connect
def _start_list_import(**_: Any) -> None:
    # List freshness: import the UN list every SANCTIONS_LIST_IMPORT_INTERVAL (0 = off)
    from engine.lists.schedule import start_background_importer

    start_background_importer()

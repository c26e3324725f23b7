"""The Celery app and the worker's tasks (``celery -A engine.tasks worker``).

Delivery is at-least-once: ``task_acks_late`` + ``task_reject_on_worker_lost`` put a message back
when a worker dies mid-task, and the Redis transport's visibility timeout restores messages of a
worker that vanished (SIGKILL, power loss). Everything a task writes is insert-or-ignore on a
unique key, so a redelivered batch never adds a second decision or a duplicate alert.

Tasks (queue ``sanctions``):
- ``sanctions.evaluate_events(event_ids)``: up to 100 ids of STORED events (the DB is the source
  of truth); a single id string is accepted too.
- ``sanctions.ingest_raw(payload)``: raw event JSON put on the queue by an upstream system (one
  object, a list, or a JSON string): validated, stored and evaluated in place. Invalid input is
  recorded in ``rejections`` (channel ``queue``), never raised.
- ``sanctions.sweep()``: re-queue stored events without a decision (also run periodically).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from celery import Celery, signals
from celery.worker.consumer import Consumer
from sqlalchemy.exc import DBAPIError

import engine
from engine import transport
from engine.config import get_settings
from engine.models.decisions import Decision
from engine.models.validation import validate_event

log = logging.getLogger(__name__)

QUEUE = "sanctions"
BATCH_SIZE = 100
# Coalescing of small tasks (single-event requests): their ids are also listed under PENDING and
# a small task decides up to BATCH_SIZE listed ids at once; the tasks of ids decided that way
# find them decided and only pay for one SELECT. The list is a hint, never the only copy of an id:
# every id also travels in its own acks_late task, so a worker that dies after popping ids loses
# nothing (their own tasks still decide them). Only tasks of at most COALESCE_MAX ids announce,
# and each small task pops at least that many, so the list cannot grow without bound.
PENDING = "sanctions:pending"
COALESCE_MAX = BATCH_SIZE // 2
ARGSREPR_MAX = 1024  # Celery's argsrepr_maxsize
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
# Restore scan period for unacked messages: the Redis transport's defaults (10 s x throttle 10)
# mean a vanished worker's messages sit unacked for visibility_timeout + ~100 s.
RESTORE_INTERVAL_MAX = 10


def _transport_options(visibility_timeout: int) -> dict[str, Any]:
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(RESTORE_INTERVAL_MAX, visibility_timeout // 3)),
        "unacked_restore_throttle": 1,  # scan on every interval, not every 10th
        # The restore scan runs under a Redis mutex that expires after this many seconds (default
        # 300). A worker killed while holding it would block every restore for that long.
        "unacked_mutex_expire": max(5, min(30, visibility_timeout)),
        "socket_timeout": 10,
        "socket_connect_timeout": 3,
        # publishing from the web process must fail fast when Redis is gone (stored events are
        # swept later), not retry for ever
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }


def _lazy_config() -> dict[str, Any]:
    """Resolved when the app first needs its config, so importing this module starts nothing."""
    from engine.broker import broker_url

    settings = get_settings()
    return {
        "broker_url": broker_url(settings),
        "broker_transport_options": _transport_options(settings.visibility_timeout),
    }


transport.register()


class RecordingConsumer(Consumer):
    """Celery's consumer, but a message whose body cannot be decoded is recorded, not just logged."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        _record_bad_message(message, f"message body cannot be decoded: {exc!r}")
        super().on_decode_error(message, exc)

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Any:
        handle = super().create_task_handler(*args, **kwargs)
        passthrough = tuple(self.connection_errors) + tuple(self.channel_errors)

        def on_task_received(message: Any) -> Any:
            # A task message of the wrong shape (e.g. body not [args, kwargs, embed]) raises in
            # Celery's strategy, which would stop the worker: record it and drop the message.
            try:
                return handle(message)
            except passthrough:
                raise
            except Exception as exc:  # noqa: BLE001
                _record_bad_message(message, f"malformed task message: {exc!r}")
                message.reject_log_error(log, self.connection_errors)
                return None

        return on_task_received


app = Celery("sanctions")
app.conf.update(
    worker_consumer="engine.tasks:RecordingConsumer",
    task_default_queue=QUEUE,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_backend=None,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=3,
    worker_hijack_root_logger=False,
    # Pool processes load the rule pack (and screening lists) at start: allow them the time
    # before Celery gives up on a child that has not reported up (default 4 s).
    worker_proc_alive_timeout=120,
    worker_send_task_events=False,
    beat_schedule={"sweep": {"task": "sanctions.sweep", "schedule": 60.0}},
)
app.add_defaults(_lazy_config)


# -- publishing ----------------------------------------------------------------------------------


def enqueue_event_ids(
    event_ids: Sequence[str], broker: str | None = None, batch_size: int = BATCH_SIZE
) -> bool:
    """Publish stored events for evaluation in tasks of up to ``batch_size`` ids.

    Ids of small tasks (<= ``COALESCE_MAX``, e.g. single-event requests) are also appended to the
    ``PENDING`` list, so whichever small task a worker runs first decides up to ``BATCH_SIZE`` of
    them at once (see ``evaluate_events``). Returns False (and logs) when the broker cannot be
    reached: the events are already committed and the sweeper re-queues them, so the caller
    answers normally.
    """
    ids = list(event_ids)
    chunks = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    small = [e for chunk in chunks if len(chunk) <= COALESCE_MAX for e in chunk]
    # The anonymous exchange routes straight to the queue: one Redis round trip per message
    # instead of two (the redis transport looks up an exchange's bindings on every publish).
    route = {"exchange": "", "routing_key": QUEUE, "retry": False}
    try:
        if broker is None:
            with app.producer_or_acquire() as producer:
                conn_or_acquire = getattr(producer.channel, "conn_or_acquire", None)
                if conn_or_acquire is not None:  # engine.transport's Redis channel
                    with conn_or_acquire() as client:
                        _publish_direct(client, chunks, small)
                    return True
                for chunk in chunks:
                    evaluate_events.apply_async((chunk,), producer=producer, **route)
        else:
            with app.connection_for_write(broker) as conn:
                _announce(conn.default_channel, small)
                for chunk in chunks:
                    evaluate_events.apply_async((chunk,), connection=conn, **route)
    except Exception as exc:  # noqa: BLE001 - any broker failure: stored events are swept later
        log.warning("broker unreachable, %d stored events left for the sweeper: %s", len(ids), exc)
        return False
    return True


def _publish_direct(client: Any, chunks: list[list[str]], announce: list[str]) -> None:
    """LPUSH the evaluate_events messages (and RPUSH the announced ids) in ONE Redis round trip.

    The messages are byte-for-byte what Celery + kombu's Redis transport would put on the queue
    for ``apply_async`` on the anonymous exchange (protocol 2, JSON, base64 body); building them
    here costs a fraction of Celery's publish path, which was ~45% of a single-event request.
    """
    pipe = client.pipeline(transaction=False)
    if announce:
        pipe.rpush(PENDING, *announce)
    for chunk in chunks:
        pipe.lpush(QUEUE, _task_envelope(chunk))
    pipe.execute()


_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def _task_envelope(event_ids: list[str]) -> str:
    task_id = str(uuid.uuid4())
    argsrepr = repr((event_ids,))
    if len(argsrepr) > ARGSREPR_MAX:
        argsrepr = argsrepr[: ARGSREPR_MAX - 3] + "..."
    body = json.dumps([[event_ids], {}, _EMBED]).encode("utf-8")
    return json.dumps(
        {
            "body": base64.b64encode(body).decode("ascii"),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": evaluate_events.name,
                "id": task_id,
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [None, None],
                "root_id": task_id,
                "parent_id": None,
                "argsrepr": argsrepr,
                "kwargsrepr": "{}",
                "origin": _ORIGIN,
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": task_id,
                "reply_to": app.thread_oid,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": QUEUE},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


def _announce(channel: Any, ids: list[str]) -> None:
    """Append ids to the PENDING list (a hint only: every id also travels in its own task)."""
    conn_or_acquire = getattr(channel, "conn_or_acquire", None)  # engine.transport's Redis channel
    if ids and conn_or_acquire is not None:
        with conn_or_acquire() as client:
            client.rpush(PENDING, *ids)


def _drain(limit: int) -> list[str]:
    """Pop up to ``limit`` announced ids (atomic LPOP: each id goes to one task at most)."""
    try:
        with app.producer_or_acquire() as producer:
            conn_or_acquire = getattr(producer.channel, "conn_or_acquire", None)
            if conn_or_acquire is None:
                return []
            with conn_or_acquire() as client:
                popped = client.lpop(PENDING, limit)
    except Exception as exc:  # noqa: BLE001 - only a hint: the task's own ids are still decided
        log.warning("could not read the pending list: %s", exc)
        return []
    return [p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in popped or ()]


# -- evaluation ----------------------------------------------------------------------------------

_evaluator_lock = threading.Lock()
_evaluator: Any = None


def get_evaluator() -> Any:
    """The rules developer's process-wide evaluator; its rule pack is recorded once per process."""
    global _evaluator
    with _evaluator_lock:
        if _evaluator is None:
            import importlib
            import os

            # SANCTIONS_EVALUATOR=module:factory swaps the evaluator (bench --evaluator mode).
            target = os.environ.get("SANCTIONS_EVALUATOR") or "engine.evaluation:default_evaluator"
            module, _, factory = target.partition(":")
            evaluator = getattr(importlib.import_module(module), factory or "default_evaluator")()
            _store_pack(evaluator)
            _evaluator = evaluator
        return _evaluator


def _store_pack(evaluator: Any) -> None:
    """Record the evaluator's rule pack (engine.replay) so every decision can be replayed."""
    pack = getattr(evaluator, "pack", None)
    if pack is None:  # an evaluator without a rule pack (SANCTIONS_EVALUATOR swap)
        return
    try:
        from engine.replay import ensure_pack_stored
    except ImportError:
        return
    ensure_pack_stored(pack)


def _rejected(event_id: str, reasons: list[str]) -> Decision:
    return Decision(
        event_id=event_id,
        status="rejected",
        reasons=reasons,
        engine_version=engine.__version__,
        evaluated_at=datetime.now(UTC),
    )


def decide_stored(event_ids: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    """Evaluate the stored, undecided events among ``event_ids``; store decisions and alerts.

    Already-decided events are skipped (redelivery is a no-op). An event whose stored JSON no
    longer validates gets a ``rejected`` decision. ``extra`` are further ids (popped from the
    PENDING list) decided along when stored and undecided; unknown ones are ignored silently (the
    list may hold ids of another database). Returns the event_ids decided by this call.
    """
    from engine.storage.db import get_engine

    # One pooled connection for the load and the save (a checkout less per task).
    with get_engine().connect() as conn:
        return _decide_on(conn, list(dict.fromkeys(event_ids)), extra)


def _decide_on(conn: Any, own: list[str], extra: Sequence[str]) -> list[str]:
    from engine.storage import repository

    wanted = list(dict.fromkeys([*own, *extra])) if extra else own
    rows = repository.load_events(wanted, conn)
    found = {r[0] for r in rows}
    missing = [e for e in own if e not in found]
    if missing:
        log.warning("evaluate_events: %d unknown event_ids ignored: %s", len(missing), missing[:5])
        repository.record_rejection(
            "queue",
            {"event_ids": missing},
            [
                {
                    "pointer": "",
                    "message": "no stored event with this event_id",
                    "type": "unknown_event",
                }
            ],
        )
    pending = [r for r in rows if r[3] == "received"]
    if not pending:
        return []
    events, decisions, occurred = [], [], {}
    for event_id, raw, _received, _status in pending:
        event, errors = validate_event(raw)
        if event is None:
            decisions.append(
                _rejected(event_id, [f"{e.pointer or '/'}: {e.message}" for e in errors])
            )
            occurred[event_id] = datetime.now(UTC)
        else:
            events.append(event)
            occurred[event_id] = event.occurred_at.astimezone(UTC)
    if events:
        decisions.extend(_evaluate(events))
    return repository.save_decisions(decisions, occurred, conn)


def _evaluate(events: list[Any]) -> list[Decision]:
    evaluator = get_evaluator()
    try:
        return list(evaluator.evaluate_many(events))
    except Exception:  # noqa: BLE001 - isolate the event that breaks the engine, decide the rest
        log.exception("evaluate_many failed on a batch of %d; evaluating one by one", len(events))
    out = []
    for event in events:
        try:
            out.append(evaluator.evaluate(event))
        except Exception:  # noqa: BLE001
            # Left undecided on purpose (never "clear" by accident): the sweeper retries it.
            log.exception("evaluation failed for event %s; left for the sweeper", event.event_id)
    return out


# -- tasks ---------------------------------------------------------------------------------------

_RETRY = {
    "autoretry_for": (DBAPIError,),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@app.task(name="sanctions.evaluate_events", **_RETRY)
def evaluate_events(event_ids: Any) -> int:
    from engine.storage import repository

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
    extra = _drain(BATCH_SIZE - len(event_ids)) if len(event_ids) <= COALESCE_MAX else []
    return len(decide_stored(event_ids, extra))


@app.task(name="sanctions.ingest_raw", **_RETRY)
def ingest_raw(payload: Any) -> dict[str, int]:
    from engine.ingest import BodyError, ingest_batch, parse_body, summary
    from engine.storage import repository

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
    results = ingest_batch(items, channel="queue", enqueue=False)
    todo = [r.event_id for r in results if r.accepted and r.state == "received"]
    for i in range(0, len(todo), BATCH_SIZE):
        decide_stored(todo[i : i + BATCH_SIZE])
    return summary(results)


@app.task(name="sanctions.sweep")
def sweep() -> int:
    from engine.sweeper import sweep_once

    return sweep_once()


# -- malformed messages and worker process hooks -----------------------------------------------


def _record_bad_message(message: Any, reason: str) -> None:
    from engine.storage import repository

    try:
        body = getattr(message, "body", message)
        headers = getattr(message, "headers", None) or {}
        repository.record_rejection(
            "queue",
            body,
            [
                {
                    "pointer": "",
                    "message": reason,
                    "type": "malformed_message",
                    "task": str(headers.get("task")),
                    "delivery_tag": str(getattr(message, "delivery_tag", None)),
                }
            ],
        )
    except Exception:  # noqa: BLE001 - recording must never take the consumer down
        log.exception("could not record a malformed queue message")


@signals.task_rejected.connect
def _on_rejected(sender: Any = None, message: Any = None, exc: Any = None, **_: Any) -> None:
    _record_bad_message(
        message, f"malformed task message: {exc!r}" if exc else "message is not a task"
    )


@signals.task_unknown.connect
def _on_unknown(
    sender: Any = None, message: Any = None, exc: Any = None, name: str | None = None, **_: Any
) -> None:
    _record_bad_message(message, f"unknown task {name!r}")


@signals.worker_process_init.connect
def _fresh_process(**_: Any) -> None:
    # A forked child must not share the parent's pooled DB connections.
    from engine.storage.db import reset_engine

    reset_engine()
    try:
        get_evaluator()  # load the rule pack before the first message, not during it
    except Exception:  # noqa: BLE001 - the task reports it properly when it runs
        log.exception("evaluator could not be loaded at worker start")


@signals.worker_ready.connect
def _start_sweeper(**_: Any) -> None:
    from engine.sweeper import start_background_sweeper

    start_background_sweeper()


# Tasks of other modules, registered with this app (they import ``app`` from here).
from engine import replay_tasks as _replay_tasks  # noqa: E402, F401 - sanctions.replay_decision

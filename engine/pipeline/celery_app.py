"""The Celery app and its configuration (the worker runs ``celery -A engine.pipeline.tasks``).

Delivery is at-least-once: ``task_acks_late`` + ``task_reject_on_worker_lost`` put a message back
when a worker dies mid-task, and the Redis transport's visibility timeout restores messages of a
worker that vanished (SIGKILL, power loss). Everything a task writes is insert-or-ignore on a
unique key, so a redelivered batch never adds a second decision or a duplicate alert.

A queue message that cannot be decoded, or is not a task of the right shape, is recorded in
``rejections`` (channel ``queue``) and dropped: it never stops the consumer.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task, signals
from celery.worker.consumer import Consumer

from engine.config import get_settings
from engine.pipeline import transport
from engine.pipeline.message_checks import argument_problem, schedule_problem
from engine.pipeline.queues import QUEUE, SWEEP

log = logging.getLogger(__name__)

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
    from engine.pipeline.broker import broker_url

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
                problem = schedule_problem(getattr(message, "headers", None))
                if problem is not None:
                    _record_bad_message(message, problem, "message_schedule")
                    message.reject_log_error(log, self.connection_errors)
                    return None
                return handle(message)
            except passthrough:
                raise
            except Exception as exc:
                _record_bad_message(message, f"malformed task message: {exc!r}")
                message.reject_log_error(log, self.connection_errors)
                return None

        return on_task_received


class CheckedTask(Task):
    """A task whose arguments are checked before it runs: a call it cannot take (missing, extra
    or unknown arguments) is recorded in ``rejections`` and acknowledged, not failed with a log
    line only."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        problem = argument_problem(self.run, args, kwargs)
        if problem is not None:
            from engine.storage import repository

            repository.record_rejection(
                "queue",
                {"task": self.name, "args": list(args), "kwargs": kwargs},
                [{"pointer": "", "message": problem, "type": "malformed_task", "task": self.name}],
            )
            return None
        return super().__call__(*args, **kwargs)


app = Celery("sanctions", task_cls=CheckedTask)
app.conf.update(
    worker_consumer="engine.pipeline.celery_app:RecordingConsumer",
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
    # Backstops for memory (issue 9): every cache is bounded, but a pool process is replaced
    # after this many tasks or once its resident memory passes this many KiB (checked after each
    # task; the task in hand finishes first).
    worker_max_tasks_per_child=int(os.environ.get("SANCTIONS_WORKER_MAX_TASKS", "20000")),
    worker_max_memory_per_child=int(os.environ.get("SANCTIONS_WORKER_MAX_MEMORY_MB", "1024"))
    * 1024,
    beat_schedule={"sweep": {"task": SWEEP, "schedule": 60.0}},
)
app.add_defaults(_lazy_config)


# -- malformed messages ------------------------------------------------------------------------


def _record_bad_message(message: Any, reason: str, kind: str = "malformed_message") -> None:
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
                    "type": kind,
                    "task": str(headers.get("task")),
                    "delivery_tag": str(getattr(message, "delivery_tag", None)),
                }
            ],
        )
    except Exception:
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


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _json_logs(logger: Any = None, **_: Any) -> None:
    """SANCTIONS_LOG_FORMAT=json: the worker's log lines as JSON (engine.pipeline.json_logs)."""
    from engine.pipeline import json_logs

    if json_logs.enabled() and logger is not None:
        json_logs.use_json(logger)


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    from engine.pipeline import json_logs

    json_logs.task_id.set(task_id)


@signals.task_postrun.connect
def _task_done(**_: Any) -> None:
    from engine.pipeline import json_logs

    json_logs.task_id.set(None)

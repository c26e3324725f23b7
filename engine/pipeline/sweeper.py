"""The sweeper: re-queue stored events that still have no decision after a grace period.

Events are committed before they are published, so an event whose message was never published
(broker down) or was lost stays ``received`` in the store. The sweeper finds those older than the
grace period and publishes them again in batches; the task is idempotent, so a re-queued event that
was merely slow is decided once all the same.

Runs as ``sanctions sweep``, as the ``sanctions.sweep`` task (Celery beat, ``worker -B``), and as a
background thread in every worker's main process (SANCTIONS_SWEEP_INTERVAL seconds, 0 = off).
A Redis lock keeps concurrent sweepers from publishing the same events twice at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.pipeline.periodic import Periodic

log = logging.getLogger(__name__)

LOCK_KEY = "sanctions:sweeper:lock"


class SweepSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # Publish failures are retried by the ingesting process's outbox within seconds; the sweeper
    # is the backstop for a process that died between commit and publish, and for lost messages.
    interval: float = Field(default=30.0, alias="SANCTIONS_SWEEP_INTERVAL")  # 0 disables the thread
    grace: float = Field(default=60.0, alias="SANCTIONS_SWEEP_GRACE")  # seconds since received_at
    limit: int = Field(default=50_000, alias="SANCTIONS_SWEEP_LIMIT")  # events per run at most
    # While the queue holds more messages than this, the undecided events are (most likely) in
    # it, waiting for a worker: re-queueing them would only pile duplicates onto a backlog.
    max_queued: int = Field(default=100, alias="SANCTIONS_SWEEP_MAX_QUEUED")


def sweep_once(
    grace: float | None = None,
    limit: int | None = None,
    broker: str | None = None,
    batch_size: int = 100,
) -> int:
    """Publish undecided events received more than ``grace`` seconds ago; return how many.

    Returns 0 without publishing when another sweeper holds the lock or the broker is down.
    """
    from engine.pipeline.publish import enqueue_event_ids
    from engine.storage import repository

    settings = SweepSettings()
    grace = settings.grace if grace is None else grace
    limit = settings.limit if limit is None else limit
    from engine.pipeline.broker import try_lock

    with try_lock(LOCK_KEY, 300, url=broker) as held:
        if held is None:
            log.info("another sweeper is running; skipped")
            return 0
        depth = _queue_depth(held.client)
        if depth is not None and depth > settings.max_queued:
            log.info("queue holds %d messages; sweep skipped (backlog, not loss)", depth)
            return 0
        cutoff = datetime.now(UTC) - timedelta(seconds=grace)
        ids = repository.undecided_ids(cutoff, limit)
        if not ids:
            return 0
        if not enqueue_event_ids(ids, broker=broker, batch_size=batch_size):
            return 0
        log.warning(
            "sweeper re-queued %d undecided events (received before %s)",
            len(ids),
            cutoff.isoformat(),
        )
        return len(ids)


def _queue_depth(client: Any) -> int | None:
    from engine.pipeline.queues import QUEUE

    if client is None:
        return None
    try:
        return int(client.llen(QUEUE))
    except Exception:
        return None


def _sequence_journal() -> None:
    from engine.audit.sequencer import tick

    tick()


def _detect_sla_breaches() -> None:
    from engine.notify.sla import detect_breaches

    detect_breaches()


_periodic = Periodic(
    "sanctions-sweeper",
    [
        ("sweep", lambda: sweep_once()),
        # the journal's sequencer and periodic signed heads (issue 15)
        ("journal sequencing", _sequence_journal),
        # cases gone overdue: recorded and told once each (issue 14)
        ("SLA breach detection", _detect_sla_breaches),
    ],
)


def start_background_sweeper(interval: float | None = None) -> threading.Thread | None:
    """Run ``sweep_once`` (then the sequencer and SLA checks) every ``interval`` seconds in a
    daemon thread (once per process)."""
    return _periodic.start(SweepSettings().interval if interval is None else interval)


def stop_background_sweeper() -> None:
    _periodic.stop()


def _sweep_command():
    import click

    @click.command("sweep")
    @click.option(
        "--grace",
        type=float,
        default=None,
        help="Seconds an event may wait (default SANCTIONS_SWEEP_GRACE, 60).",
    )
    @click.option("--limit", type=int, default=None, help="Most events to re-queue in this run.")
    def sweep_command(grace: float | None, limit: int | None) -> None:
        """Re-queue stored events that have no decision after the grace period."""
        click.echo(f"re-queued {sweep_once(grace=grace, limit=limit)} undecided events")

    return sweep_command


sweep_command = _sweep_command()

"""Replays requested from the web app and run by the worker (``sanctions.replay_decision``).

The web app never evaluates rules: it records a request (``replays`` row, status ``queued``) with
``request_replay`` and publishes its id. A worker runs ``engine.replay.replay(event_id)`` against
the exact rule pack version of the stored decision, with the screener and caps ledger the worker
evaluates live events with (as ``sanctions rules replay`` does), and writes the outcome on the
same row: both decisions, identical or not, the diff, the pack and list versions the replay used.
A replay changes no decision and no alert.

Delivery is at-least-once (engine.pipeline.celery_app): a finished row is left alone when its message comes
back, and the final write is compare-and-set on the unfinished states.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import DBAPIError

from engine.pipeline.celery_app import app
from engine.pipeline.queues import QUEUE, REPLAY_DECISION
from engine.storage.db import session_scope
from engine.storage.replay_tables import ReplayRow
from engine.storage.tables import DecisionRow, EventRow

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")
MAX_RETRIES = 8


class ReplayRequestError(ValueError):
    """The event cannot be replayed (unknown, undecided, or decided without a rule pack)."""


def request_replay(
    event_id: str,
    requested_by: str,
    alert_id: int | None = None,
    enqueue: bool = True,
    broker: str | None = None,
) -> ReplayRow:
    """Record a replay request and publish it. Raises ReplayRequestError when there is nothing to
    replay. If the broker cannot be reached the row is marked failed (and says so)."""
    with session_scope() as s:
        if s.scalar(select(EventRow.id).where(EventRow.event_id == event_id)) is None:
            raise ReplayRequestError(f"no stored event {event_id!r}")
        decision = s.scalar(select(DecisionRow).where(DecisionRow.event_id == event_id))
        if decision is None:
            raise ReplayRequestError(f"event {event_id!r} has no decision yet")
        if decision.status == "rejected" or not decision.rule_pack_version:
            raise ReplayRequestError(
                f"event {event_id!r} was {decision.status} without a rule pack: nothing to replay"
            )
        row = ReplayRow(
            event_id=event_id,
            alert_id=alert_id,
            requested_by=requested_by,
            requested_at=datetime.now(UTC),
            status="queued",
        )
        s.add(row)
        s.flush()
    if enqueue and not enqueue_replay(row.id, broker):
        _finish(
            row.id,
            status="failed",
            error="the task queue could not be reached; request the replay again",
        )
        with session_scope() as s:
            row = s.get(ReplayRow, row.id) or row
    return row


def enqueue_replay(replay_id: int, broker: str | None = None) -> bool:
    """Publish one replay (to ``broker``, default the app's); False (logged) when unreachable."""
    route = {"exchange": "", "routing_key": QUEUE, "retry": False}
    try:
        if broker is None:
            with app.producer_or_acquire() as producer:
                replay_decision.apply_async((replay_id,), producer=producer, **route)
        else:
            with app.connection_for_write(broker) as conn:
                replay_decision.apply_async((replay_id,), connection=conn, **route)
    except Exception as exc:
        log.warning("broker unreachable, replay %s not queued: %s", replay_id, exc)
        return False
    return True


def _finish(replay_id: int, **values: Any) -> bool:
    """Write the outcome unless another delivery already finished the row."""
    with session_scope() as s:
        done = s.execute(
            update(ReplayRow)
            .where(ReplayRow.id == replay_id, ReplayRow.status.in_(UNFINISHED))
            .values(finished_at=datetime.now(UTC), **values)
        )
        return bool(cast(CursorResult[Any], done).rowcount)


def _screener_and_caps() -> tuple[Any, Any]:
    """What live decisions are made with in this worker (engine.pipeline.decide.get_evaluator)."""
    from engine.pipeline.decide import get_evaluator

    evaluator = get_evaluator()
    return getattr(evaluator, "screener", None), getattr(evaluator, "caps", None)


def run_replay(replay_id: int) -> str:
    """Run one requested replay and store its outcome; returns the row's final status."""
    from engine.replay import replay

    with session_scope() as s:
        row = s.get(ReplayRow, replay_id)
        if row is None:
            log.warning("replay %s: no such request", replay_id)
            return "missing"
        if row.status not in UNFINISHED:
            return row.status  # redelivered after it finished
        event_id = row.event_id
        row.status, row.started_at = "running", datetime.now(UTC)
    screener, caps = _screener_and_caps()
    try:
        from engine.vessels.history import default_history

        result = replay(event_id, screener=screener, caps=caps, history=default_history())
    except DBAPIError:
        raise  # the task retries
    except Exception as exc:
        log.exception("replay %s of %s failed", replay_id, event_id)
        _finish(replay_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        return "failed"
    _finish(
        replay_id,
        status="done",
        original=result.original.model_dump(mode="json"),
        replayed=result.replayed.model_dump(mode="json"),
        identical=result.identical,
        diff=list(result.diff),
        rule_pack_version=result.replayed.rule_pack_version,
        list_version=result.replayed.list_version,
    )
    return "done"


@app.task(
    name=REPLAY_DECISION,
    bind=True,
    autoretry_for=(DBAPIError,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def replay_decision(self: Any, replay_id: Any) -> str:
    if not isinstance(replay_id, int) or isinstance(replay_id, bool):
        log.warning("replay_decision takes a replay id (int), got %r", replay_id)
        return "malformed"
    try:
        return run_replay(replay_id)
    except DBAPIError as exc:
        if self.request.retries >= MAX_RETRIES:
            try:
                _finish(replay_id, status="failed", error=f"database unavailable: {exc}"[:2000])
            except DBAPIError:
                log.exception("replay %s: could not record the failure", replay_id)
        raise

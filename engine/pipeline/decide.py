"""Deciding stored events: load them, evaluate with the process-wide evaluator, save decisions
and alerts (one transaction). Used by the worker's tasks; redelivery is a no-op."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import engine
from engine.models.decisions import Decision
from engine.models.events import Event
from engine.models.validation import validate_event
from engine.pipeline import metrics
from engine.replay import ensure_pack_stored
from engine.rules.evaluator import Evaluator, default_evaluator
from engine.storage import repository
from engine.storage.db import get_engine

log = logging.getLogger(__name__)

_evaluator_lock = threading.Lock()
_evaluator: Evaluator | None = None


def get_evaluator() -> Evaluator:
    """The process-wide evaluator; its rule pack is recorded once per process (engine.replay), so
    every decision can be replayed."""
    global _evaluator
    with _evaluator_lock:
        if _evaluator is None:
            evaluator = default_evaluator()
            ensure_pack_stored(evaluator.pack)
            _evaluator = evaluator
        return _evaluator


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
    # One pooled connection for the load and the save (a checkout less per task).
    with get_engine().connect() as conn:
        return _decide_on(conn, list(dict.fromkeys(event_ids)), extra)


def _decide_on(conn: Any, own: list[str], extra: Sequence[str]) -> list[str]:
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
    events: list[Event] = []
    decisions: list[Decision] = []
    occurred: dict[str, datetime] = {}
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
        evaluator = get_evaluator()
        screened = evaluator.screening_seconds
        with metrics.timed(metrics.EVALUATION, per=len(events), pack=evaluator.pack.version[:12]):
            decisions.extend(_evaluate(events))
        metrics.observe_each(
            metrics.SCREENING, evaluator.screening_seconds - screened, per=len(events)
        )
    decided = repository.save_decisions(decisions, occurred, conn)
    try:
        received = {r[0]: repository.as_utc(r[2]) for r in pending}
        metrics.record_decisions(decisions, set(decided), received)
    except Exception:
        log.exception("metrics not recorded")
    if log.isEnabledFor(logging.INFO):
        stored = set(decided)
        for d in decisions:  # one line per decision that needs a human (JSON logs: event_id)
            if d.event_id in stored and d.status != "clear":
                rules = ",".join(v.rule_id for v in d.violations)
                log.info(
                    "event %s %s %s",
                    d.event_id,
                    d.status,
                    rules,
                    extra={"event_id": d.event_id, "status": str(d.status), "rules": rules},
                )
    return decided


def _evaluate(events: list[Event]) -> list[Decision]:
    evaluator = get_evaluator()
    try:
        return list(evaluator.evaluate_many(events))
    except Exception:
        log.exception("evaluate_many failed on a batch of %d; evaluating one by one", len(events))
    out = []
    for event in events:
        try:
            out.append(evaluator.evaluate(event))
        except Exception:
            # Left undecided on purpose (never "clear" by accident): the sweeper retries it.
            log.exception(
                "evaluation failed for event %s; left for the sweeper",
                event.event_id,
                extra={"event_id": event.event_id},
            )
    return out

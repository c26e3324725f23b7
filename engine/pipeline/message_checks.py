"""Checks on a queue message's envelope before Celery schedules it, and on its arguments before
a task runs: what fails is recorded in ``rejections`` (channel ``queue``) with the reason, never
dropped silently (Celery alone logs and discards an expired task, holds a far-future ETA in
memory for ever, and fails a task called with the wrong arguments with only a log line).

- ``schedule_problem(headers)``: an ``eta``/``expires`` that is not a date, whose UTC conversion
  overflows, an ``expires`` already past, or an ``eta`` more than ``MAX_ETA_AHEAD`` away. The
  message is recorded (its body, so an ``ingest_raw`` payload is kept) and dropped; the events of
  an ``evaluate_events`` message are stored already, and the sweeper queues them again.
- ``argument_problem(func, args, kwargs)``: arguments the task function cannot be called with.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# This service never schedules further ahead than its retry backoff (60 s); an hour leaves room
# for a producer's own delays and none for a message parked for years.
MAX_ETA_AHEAD = timedelta(hours=1)


def _instant(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}"[:200])
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Celery's default timezone
    return parsed.astimezone(UTC)


def schedule_problem(headers: Mapping[str, Any] | None, now: datetime | None = None) -> str | None:
    headers = headers or {}
    now = now or datetime.now(UTC)
    for name in ("eta", "expires"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            when = _instant(value)
        except (ValueError, OverflowError, OSError) as exc:
            return f"{name} {str(value)[:100]!r} is not a usable date: {exc}"[:500]
        if name == "expires" and when <= now:
            return f"expired at {when.isoformat()} before it was received ({now.isoformat()})"
        if name == "eta" and when - now > MAX_ETA_AHEAD:
            return (
                f"eta {when.isoformat()} is more than {MAX_ETA_AHEAD} ahead: not held by the worker"
            )
    return None


def argument_problem(func: Callable[..., Any], args: Any, kwargs: Any) -> str | None:
    if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
        return "task arguments must be a list and keyword arguments an object"
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        return f"wrong arguments: {exc}"
    return None

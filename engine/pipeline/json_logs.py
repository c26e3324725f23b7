"""Structured JSON logs (standard library only), one object per line, carrying the request id,
the Celery task id and the event_id where there is one.

``SANCTIONS_LOG_FORMAT=json`` turns it on for the web app (web.create_app), the worker (Celery's
after_setup_logger signal) and `sanctions run`'s children; the default stays plain text. The ids
travel in context variables: web.health sets ``request_id`` per request (the caller's
``X-Request-ID`` when it sends a sane one, else a new one, echoed in the response); the worker sets
``task_id`` per task; code that handles one event logs with ``extra={"event_id": ...}`` or inside
``event_context(event_id)``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# LogRecord attributes that are not "extra" fields
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def enabled() -> bool:
    return os.environ.get("SANCTIONS_LOG_FORMAT", "").strip().lower() == "json"


def new_request_id(offered: str | None = None) -> str:
    """The caller's id when it is a sane token (no log injection), else a fresh one."""
    if offered and _SANE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def event_context(value: str) -> Iterator[None]:
    token = event_id.set(value)
    try:
        yield
    finally:
        event_id.reset(token)


_CONTEXT = (("request_id", request_id), ("task_id", task_id), ("event_id", event_id))
_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    # Stamp the ids when the record is made (a handler may format it later, elsewhere). The
    # names are private so that extra={"event_id": ...} can still set the public one.
    record = _base_factory(*args, **kwargs)
    for key, var in _CONTEXT:
        setattr(record, f"_ctx_{key}", var.get())
    return record


logging.setLogRecordFactory(_record_factory)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, var in _CONTEXT:
            attr = f"_ctx_{key}"
            value = getattr(record, attr) if hasattr(record, attr) else var.get()
            if value is not None:
                out[key] = value
        for key, value in vars(record).items():  # extra={...} fields, event_id among them
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else repr(value)
                )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def use_json(logger: logging.Logger | None = None, level: int | None = None) -> None:
    """Give ``logger`` (default: root) JSON output on stderr, replacing its formatters."""
    logger = logger or logging.getLogger()
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
    if level is not None:
        logger.setLevel(level)


def configure_from_env() -> None:
    if enabled():
        root = logging.getLogger()
        use_json(root, root.level if root.level != logging.WARNING else logging.INFO)

"""The AIS worker's Celery tasks (``celery -A engine.ais.tasks worker -Q ais -P solo``, started
by ``sanctions ais worker``). A separate queue and worker from ``sanctions``: a burst of positions
never delays shipment decisions, and the derived events are published to ``sanctions`` like any
pushed event.

- ``sanctions.ais_derive(batch_id)``: derive a batch already stored (by the bulk command).
- ``sanctions.ais_ingest_raw(payload)``: raw AIS put on the queue by an upstream system (NMEA or
  JSON text, or a list of lines): stored first, then derived. Never raises on bad input.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sqlalchemy.exc import DBAPIError

from engine.ais import batches
from engine.ais.process import Derivation, derive_batch
from engine.ais.queueing import AIS_DERIVE, AIS_INGEST_RAW, queue_name
from engine.pipeline.celery_app import app
from engine.pipeline.publish import publish_committed
from engine.storage import repository

log = logging.getLogger(__name__)

_RETRY: dict[str, Any] = {
    "autoretry_for": (DBAPIError,),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "max_retries": 8,
}
_stream: Derivation | None = None


def stream() -> Derivation:
    """This process's derivation state (one solo worker per partition queue), resumed from the
    store under the name of the queue it consumes (engine.ais.checkpoint)."""
    global _stream
    if _stream is None:
        _stream = Derivation.resumed(stream_name())
    return _stream


def stream_name() -> str:
    """The worker's queue (``sanctions ais worker --partition k`` sets SANCTIONS_AIS_STREAM)."""
    return os.environ.get("SANCTIONS_AIS_STREAM") or queue_name(0)


@app.task(name=AIS_DERIVE, **_RETRY)
def ais_derive(batch_id: Any) -> dict[str, Any]:
    if not isinstance(batch_id, str) or not batch_id:
        repository.record_rejection(
            "queue",
            batch_id,
            [{"pointer": "", "message": "ais_derive takes a batch id", "type": "malformed_task"}],
        )
        return {}
    return derive_batch(batch_id, stream(), publish_committed)


@app.task(name=AIS_INGEST_RAW, **_RETRY)
def ais_ingest_raw(payload: Any) -> dict[str, Any]:
    if isinstance(payload, str):
        lines = payload.split("\n")
    elif isinstance(payload, list) and all(isinstance(x, str) for x in payload):
        lines = payload
    else:
        repository.record_rejection(
            "queue",
            payload,
            [
                {
                    "pointer": "",
                    "message": "ais_ingest_raw takes NMEA or JSON text, or a list of lines",
                    "type": "malformed_task",
                }
            ],
        )
        return {}
    stored = batches.store_batch(lines[: batches.MAX_LINES], channel="queue")
    out = derive_batch(stored.id, stream(), publish_committed)
    for start in range(batches.MAX_LINES, len(lines), batches.MAX_LINES):
        more = batches.store_batch(
            lines[start : start + batches.MAX_LINES], "queue", first_line=start + 1
        )
        derive_batch(more.id, stream(), publish_committed)
    return out

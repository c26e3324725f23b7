"""Ingest: parse, validate, store (committed), then publish. Shared by HTTP, `sanctions push` and
the queue task, so every way in gives the same answer for the same input. The caller passes the
publish function (engine.pipeline.publish.enqueue_event_ids, or none to store only), so ingest
does not import the queue.

Order matters: the raw event is committed to the database BEFORE anything is published, so a
broker outage loses nothing (the sweeper re-queues stored events that never got a decision).

Per-item outcome (``ItemResult.status``):
- ``accepted``: stored now (and queued unless the broker was unreachable: ``queued`` false);
- ``duplicate``: the same body was already stored under this event_id: a no-op that answers with
  the first result (its ``received_at``, ``sha256`` and current ``state``);
- ``conflict``: a different body is stored under this event_id (HTTP 409 for a single event);
- ``invalid``: field-level errors, each a JSON pointer and a message (HTTP 422 for one event).

A batch answers 202 with one result per item when any item was accepted or duplicate; 422 when no
item got in and at least one was invalid; 409 when every item was a conflict.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.models.events import Event
from engine.models.validation import validate_event
from engine.pipeline import strict_json
from engine.storage import repository

log = logging.getLogger(__name__)

# Publishes committed event ids; False when the broker cannot be reached (the sweeper re-queues).
Publish = Callable[[list[str]], bool]

MAX_BATCH = 1000
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


class BodyError(ValueError):
    """The request body as a whole is unusable (not UTF-8, not JSON, empty, too many events)."""

    def __init__(
        self, message: str, status: int = 400, type_: str = "body_invalid", pointer: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type_
        self.pointer = pointer

    def as_error(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "type": self.type}


@dataclass(frozen=True)
class Unparsable:
    """One NDJSON line (or queue message) that is not JSON at all."""

    text: str
    error: str
    type: str = "json_invalid"


@dataclass(frozen=True)
class Unstorable:
    """An item that parsed but holds values JSON storage cannot take (engine.pipeline.strict_json)."""

    raw: Any
    errors: list[dict[str, str]]


def checked(item: Any, clean: bool = False) -> Any:
    """The item, or ``Unstorable`` when ``strict_json.problems`` finds anything (skipped when the
    parser already knows it is ``clean``)."""
    if clean:
        return item
    found = strict_json.problems(item)
    return Unstorable(item, found) if found else item


@dataclass
class ItemResult:
    index: int
    status: str  # accepted | duplicate | conflict | invalid
    event_id: str | None = None
    state: str | None = None  # the stored event's status: received | decided | rejected
    received_at: datetime | None = None
    sha256: str | None = None
    queued: bool | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    # Data-quality findings of an accepted event (engine.models.quality.Finding as dicts).
    data_quality: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """The store now holds this body under this event_id (new or a duplicate)."""
        return self.status in ("accepted", "duplicate")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "event_id": self.event_id,
            "status": self.status,
        }
        if self.accepted:
            out["state"] = self.state
            out["received_at"] = self.received_at.isoformat() if self.received_at else None
            out["sha256"] = self.sha256
            if self.status == "accepted":
                out["queued"] = self.queued
        if self.errors:
            out["errors"] = self.errors
        if self.data_quality:
            out["data_quality"] = self.data_quality
        return out


def parse_body(body: bytes | str, content_type: str | None = None) -> tuple[list[Any], bool]:
    """Split a request body into raw items: (items, is_batch).

    JSON object -> one event; JSON array -> a batch; NDJSON (by content type) -> a batch with one
    item per non-blank line, lines split on LF only (a U+2028 inside a line is JSON text, and a
    CR before the LF is dropped), where a line that is not JSON becomes an ``Unparsable`` item (the
    other lines still go through). Bytes must be UTF-8 (400 otherwise: the stored raw event is
    what was sent). Parsing is strict (engine.pipeline.strict_json): an item holding NaN, Infinity, a
    number out of range, a lone surrogate, NUL or nesting past the limit becomes ``Unstorable``
    with a pointer per value.
    """
    if isinstance(body, bytes):
        try:
            text = strict_json.decode_utf8(body)
        except strict_json.JsonInputError as exc:
            raise BodyError(exc.message, type_=exc.type) from None
        from_bytes = True
    else:
        text, from_bytes = body, False
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in NDJSON_TYPES:
        items: list[Any] = []
        for n, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            try:
                value, clean = strict_json.loads(line)
            except strict_json.JsonInputError as exc:
                items.append(Unparsable(line, f"line {n}: {exc.message}", exc.type))
                continue
            items.append(checked(value, clean and from_bytes))
        if not items:
            raise BodyError("empty NDJSON body")
        _check_size(items)
        return items, True
    if not text.strip():
        raise BodyError("empty body: send one event object, an array of events, or NDJSON")
    try:
        data, clean = strict_json.loads(text)
    except strict_json.JsonInputError as exc:
        raise BodyError(f"body is {exc.message}", type_=exc.type) from None
    clean = clean and from_bytes
    if isinstance(data, list):
        if not data:
            raise BodyError("empty array: send at least one event")
        _check_size(data)
        return [checked(item, clean) for item in data], True
    return [checked(data, clean)], False


def _check_size(items: Sequence[Any]) -> None:
    if len(items) > MAX_BATCH:
        raise BodyError(f"{len(items)} events in one request; the limit is {MAX_BATCH}", status=413)


def _invalid(index: int, raw: Any, errors: list[dict[str, str]]) -> ItemResult:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if event_id is not None:
        # echoed in the answer: a lone surrogate or NUL in it is shown escaped, not sent raw
        event_id = str(event_id)[:200].replace("\x00", "\\u0000")
        event_id = event_id.encode("utf-8", "backslashreplace").decode("utf-8")
    return ItemResult(index, "invalid", event_id, errors=errors)


def ingest_batch(
    raws: Sequence[Any],
    channel: str = "http",
    publish: Publish | None = None,
    prechecked: bool = False,
    strict: bool = False,
) -> list[ItemResult]:
    """Validate, store (committed) and publish raw events; one ``ItemResult`` per input, in order.

    ``channel`` (http | cli | queue) labels rejections. ``publish`` gets the ids of the newly
    stored events once they are committed; without it the events are stored only (the queue task
    evaluates in place).
    ``prechecked``: the items come from ``parse_body``, which already ran the strict JSON checks
    (otherwise they run here: values decoded elsewhere, e.g. by the queue, may hold anything).
    ``strict`` (``Prefer: handling=strict``) refuses any body problem instead of recording it as
    a finding.
    """
    results: list[ItemResult | None] = [None] * len(raws)
    valid: list[tuple[int, dict[str, Any], Event, str]] = []
    for i, raw in enumerate(raws):
        if not prechecked and not isinstance(raw, Unparsable | Unstorable):
            raw = checked(raw)
        if isinstance(raw, Unparsable):
            results[i] = ItemResult(
                i, "invalid", errors=[{"pointer": "", "message": raw.error, "type": raw.type}]
            )
            continue
        if isinstance(raw, Unstorable):
            results[i] = _invalid(i, raw.raw, raw.errors)
            continue
        event, errors = validate_event(raw, strict=strict)
        if event is None:
            results[i] = _invalid(i, raw, [e.model_dump() for e in errors])
            continue
        canonical = repository.canonical_json(raw)
        valid.append((i, raw, event, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))

    stored = repository.store_events([(raw, ev, sha) for _, raw, ev, sha in valid]) if valid else {}
    first_index: dict[str, int] = {}
    for i, _raw, event, sha in valid:
        row = stored[event.event_id]
        if sha != row.sha256:
            results[i] = ItemResult(
                i,
                "conflict",
                event.event_id,
                errors=[
                    {
                        "pointer": "/event_id",
                        "message": f"event_id {event.event_id!r} was already received with a different body "
                        f"(sha256 {row.sha256}); events are immutable: send a new event_id",
                        "type": "conflict",
                    }
                ],
            )
        elif row.created and event.event_id not in first_index:
            first_index[event.event_id] = i
            results[i] = ItemResult(
                i, "accepted", event.event_id, row.status, row.received_at, row.sha256
            )
        else:
            results[i] = ItemResult(
                i, "duplicate", event.event_id, row.status, row.received_at, row.sha256
            )
        if event.quality and results[i] is not None and results[i].accepted:  # type: ignore[union-attr]
            results[i].data_quality = [f.model_dump(mode="json") for f in event.quality]  # type: ignore[union-attr]

    # The batch is committed from here on: nothing below may turn its answer into an error that
    # hides what was stored (a failed rejection record or publish is logged, the answer stands).
    rejected = [r for r in results if r is not None and r.status in ("invalid", "conflict")]
    for rej in rejected:
        raw = raws[rej.index]
        if isinstance(raw, Unparsable):
            raw = raw.text
        elif isinstance(raw, Unstorable):
            raw = raw.raw
        try:
            repository.record_rejection(channel, raw, rej.errors, rej.event_id)
        except Exception:
            log.exception("could not record a rejection (item %d); answering anyway", rej.index)

    new_ids = [
        r.event_id for r in results if r is not None and r.status == "accepted" and r.event_id
    ]
    queued = True
    if publish is not None and new_ids:
        queued = publish(new_ids)
        for item in results:
            if item is not None and item.status == "accepted":
                item.queued = queued
    out = [item for item in results if item is not None]
    if log.isEnabledFor(logging.INFO):
        counts = summary(out)
        log.info(
            "ingest %s: %d accepted, %d duplicate, %d conflict, %d invalid",
            channel,
            counts["accepted"],
            counts["duplicate"],
            counts["conflict"],
            counts["invalid"],
            extra={"event_id": out[0].event_id} if len(out) == 1 and out[0].event_id else {},
        )
    try:
        from engine.pipeline import metrics

        metrics.record_ingest(channel, out)
        if publish is not None and new_ids and not queued:
            metrics.PUBLISH_FAILURES.inc(len(new_ids))
    except Exception:
        log.exception("ingest metrics not recorded")
    return out


def status_code(results: Sequence[ItemResult], is_batch: bool) -> int:
    """HTTP status for an ingest answer (see the module docstring)."""
    if not is_batch:
        return {"accepted": 202, "duplicate": 202, "conflict": 409}.get(results[0].status, 422)
    if any(r.accepted for r in results):
        return 202
    if any(r.status == "invalid" for r in results):
        return 422
    return 409


def summary(results: Sequence[ItemResult]) -> dict[str, int]:
    counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "invalid": 0}
    for r in results:
        counts[r.status] += 1
    return counts

"""JSON API v1 (thin: the ingest logic lives in engine.pipeline.ingest, shared with push and the queue).

POST /api/v1/events      one event, a JSON array (<= 1000) or NDJSON -> 202 with per-event status
GET  /api/v1/events/<id> the stored event, its decision and alerts
POST /api/v1/ais         raw AIS (NMEA lines or decoded JSON): stored as a batch, queued on ``ais``
GET  /api/v1/schema      the JSON Schema of event contract v1
GET  /api/v1/openapi.json the OpenAPI 3.1 document of this API (web/openapi.py)
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from engine.models.events import json_schema
from engine.pipeline import ingest
from engine.pipeline.publish import publish_committed
from engine.storage import repository

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@api_bp.post("/events")
def post_events() -> tuple[Response, int]:
    try:
        items, is_batch = ingest.parse_body(request.get_data(cache=False), request.content_type)
    except ingest.BodyError as exc:
        return jsonify({"error": exc.message, "errors": [exc.as_error()]}), exc.status
    strict = prefers_strict(request.headers.getlist("Prefer"))
    # SANCTIONS_BROKER_URL (app config) lets a deployment or a test publish elsewhere.
    broker = current_app.config.get("SANCTIONS_BROKER_URL")
    results = ingest.ingest_batch(
        items,
        channel="http",
        publish=lambda ids: publish_committed(ids, broker=broker),  # outbox if the broker is down
        prechecked=True,  # parse_body ran the strict JSON checks
        strict=strict,
    )
    code = ingest.status_code(results, is_batch)
    if not is_batch:
        resp = jsonify(results[0].to_json())
    else:
        body: dict[str, Any] = {
            "summary": ingest.summary(results),
            "results": [r.to_json() for r in results],
        }
        resp = jsonify(body)
    if strict:
        resp.headers["Preference-Applied"] = "handling=strict"
    return resp, code


@api_bp.post("/ais")
def post_ais() -> tuple[Response, int]:
    """Raw AIS (engine.ais, docs/AIS.md): the batch is committed before it is queued for the AIS
    worker; bad sentences are findings of the derivation, never a refusal of the batch."""
    from engine.ais.batches import MAX_LINES, store_batch
    from engine.ais.queueing import publish_batches

    try:
        text = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "body is not UTF-8")
    lines = text.split("\n")
    if not text.strip():
        return _error(400, "empty body: send NMEA sentences or decoded AIS JSON, one per line")
    if len(lines) > MAX_LINES:
        return _error(413, f"{len(lines)} lines in one request; the limit is {MAX_LINES}")
    source = (request.headers.get("X-Source") or "http").strip()[:200] or "http"
    stored = store_batch(lines, channel="http", source=source)
    queued = publish_batches([stored.id]) if stored.created else None
    body = {
        "batch_id": stored.id,
        "status": "accepted" if stored.created else "duplicate",
        "state": stored.status,
        "lines": len(lines),
        "queued": queued,
    }
    return jsonify(body), 202


def prefers_strict(values: list[str]) -> bool:
    """RFC 7240 ``Prefer: handling=strict``: preferences are comma-separated, each
    ``token[=value]`` with ``;``-parameters; tokens are case-insensitive, values may be quoted."""
    for header in values:
        for pref in header.split(","):
            name, _, value = pref.split(";", 1)[0].strip().partition("=")
            if name.strip().lower() == "handling" and value.strip().strip('"').lower() == "strict":
                return True
    return False


@api_bp.get("/events/<path:event_id>")
def get_event(event_id: str) -> tuple[Response, int]:
    found = repository.event_with_decision(event_id)
    if found is None:
        return _error(404, f"no event with event_id {event_id!r}")
    return jsonify(found), 200


@lru_cache(maxsize=1)
def _schema_body() -> bytes:
    # Building the schema takes ~15 ms; it only changes with the code.
    return json.dumps(json_schema()).encode("utf-8")


@api_bp.get("/schema")
def get_schema() -> Response:
    return Response(_schema_body(), mimetype="application/schema+json")


@lru_cache(maxsize=1)
def _openapi_body() -> bytes:
    from web.openapi import openapi_document

    return json.dumps(openapi_document()).encode("utf-8")


@api_bp.get("/openapi.json")
def get_openapi() -> Response:
    """The OpenAPI 3.1 document of this API (public, like the schema)."""
    return Response(_openapi_body(), mimetype="application/json")

"""Probes and fault answers: ``/healthz`` (liveness), ``/readyz`` (readiness, JSON), ``/metrics``
(Prometheus), and 503 + Retry-After instead of a 500 when the database is unreachable."""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

health_bp = Blueprint("health", __name__)

RETRY_AFTER = 5  # seconds: what a client should wait before retrying during an outage

# Public endpoints (no login, no API key): probes must answer for a load balancer / orchestrator.
PUBLIC = ("health.readyz", "health.metrics")


@health_bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    from engine.pipeline.readiness import readiness

    ready, report = readiness()
    response = jsonify(report)
    if not ready:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response, 200 if ready else 503


def _metrics_allowed() -> bool:
    """Bearer SANCTIONS_METRICS_TOKEN when set; without one, loopback scrapers only."""
    token = os.environ.get("SANCTIONS_METRICS_TOKEN")
    if token:
        return request.headers.get("Authorization", "") == f"Bearer {token}"
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@health_bp.get("/metrics")
def metrics() -> Response:
    if not _metrics_allowed():
        return Response(
            '{"error": "metrics need Authorization: Bearer SANCTIONS_METRICS_TOKEN"}\n',
            status=403,
            mimetype="application/json",
        )
    from engine.pipeline.metrics import render

    body, content_type = render(with_state=True)
    return Response(body, content_type=content_type)


def database_unavailable(exc: Exception) -> Any:
    """A database outage is a 503 the client should retry, never an HTML 500."""
    if isinstance(exc, DBAPIError) and not _is_connectivity(exc):
        raise exc  # a real bug (constraint, SQL): let it be a 500 and be seen
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    message = "the database is unavailable; nothing was stored by this request: retry later"
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": message, "retry_after": RETRY_AFTER})
    else:
        response = Response(
            render_template("error.html", code=503, message=message), mimetype="text/html"
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _is_connectivity(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True
    name = type(exc.orig).__name__ if exc.orig is not None else ""
    return name in ("OperationalError", "InterfaceError", "ConnectionTimeout")


def _request_id() -> None:
    from flask import g

    from engine.pipeline import json_logs

    g.request_id = json_logs.new_request_id(request.headers.get("X-Request-ID"))
    json_logs.request_id.set(g.request_id)


def _echo_request_id(response: Response) -> Response:
    from flask import g

    rid = getattr(g, "request_id", None)
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


def install(app: Flask) -> None:
    from engine.pipeline import json_logs

    json_logs.configure_from_env()
    app.before_request(_request_id)
    app.after_request(_echo_request_id)
    app.register_blueprint(health_bp)
    app.register_error_handler(DBAPIError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)

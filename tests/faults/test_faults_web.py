"""Probes and fault answers of the web app (issue 9): /healthz stays liveness, /readyz reports
database, broker, workers, backlog and list age, a database outage answers 503 JSON with
Retry-After (never an HTML 500), and /metrics is Prometheus text for loopback or a token.

The outage is real: the process's engine is pointed at a PostgreSQL port where nothing listens
(no mock of the database), then pointed back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pipeline_support import clear_event, flagged_event


@contextmanager
def database_unreachable() -> Iterator[None]:
    from engine.config import reset_settings
    from engine.storage.db import reset_engine

    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nothing_listens"
    reset_settings()
    reset_engine()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        reset_settings()
        reset_engine()


def test_readyz_reports_every_dependency(api_client) -> None:
    r = api_client.post("/api/v1/events", json=[clear_event("rz-1"), flagged_event("rz-2")])
    assert r.status_code == 202
    r = api_client.get("/readyz")
    assert r.status_code == 200, r.json
    checks = r.json["checks"]
    assert r.json["status"] == "ready"
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert checks["broker"]["queue_depth"] >= 1  # published, no worker running in this test
    assert checks["backlog"]["count"] == 2 and checks["backlog"]["oldest_age_s"] >= 0
    assert checks["workers"]["alive"] == 0 and checks["workers"]["ok"] is False
    assert "lists" in checks


def test_database_outage_is_a_503_json_with_retry_after(api_client) -> None:
    with database_unreachable():
        r = api_client.post("/api/v1/events", json=clear_event("out-1"))
        assert r.status_code == 503
        assert r.mimetype == "application/json"
        assert int(r.headers["Retry-After"]) > 0
        assert "unavailable" in r.json["error"]
        batch = api_client.post("/api/v1/events", json=[clear_event("out-2")] * 2)
        assert batch.status_code == 503 and batch.mimetype == "application/json"
        ready = api_client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"]["ok"] is False
        assert ready.headers["Retry-After"]
        assert api_client.get("/healthz").status_code == 200  # liveness is not readiness
    r = api_client.post("/api/v1/events", json=clear_event("out-1"))  # the client retries
    assert r.status_code == 202 and r.json["status"] == "accepted"


def test_database_outage_on_a_page_is_a_503_not_a_500(client) -> None:
    with database_unreachable():
        r = client.get("/alerts")
        assert r.status_code == 503
        assert r.headers["Retry-After"]


def test_metrics_are_prometheus_text_for_loopback_or_a_token(
    api_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_client.post("/api/v1/events", json=[clear_event("m-1"), {"event_id": "m-bad"}])
    r = api_client.client.get("/metrics")  # the test client is 127.0.0.1
    assert r.status_code == 200, r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    assert 'sanctions_events_received_total{channel="http"}' in text
    assert 'sanctions_events_accepted_total{channel="http"}' in text
    assert "sanctions_events_refused_total{" in text
    assert "sanctions_undecided_events 1.0" in text
    assert "sanctions_queue_depth" in text
    far = api_client.client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403
    monkeypatch.setenv("SANCTIONS_METRICS_TOKEN", "t0ken-for-scrapers")
    assert api_client.client.get("/metrics").status_code == 403
    ok = api_client.client.get(
        "/metrics",
        headers={"Authorization": "Bearer t0ken-for-scrapers"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert ok.status_code == 200


def test_json_logs_carry_the_request_id_and_the_event_id(api_client) -> None:
    import json
    import logging

    from engine.pipeline.json_logs import JsonFormatter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.INFO)
    ingest_log = logging.getLogger("engine.pipeline.ingest")
    ingest_log.addHandler(handler)
    saved = ingest_log.level
    ingest_log.setLevel(logging.INFO)
    try:
        r = api_client.post(
            "/api/v1/events", json=clear_event("log-1"), headers={"X-Request-ID": "req-abc.123"}
        )
        assert r.headers["X-Request-ID"] == "req-abc.123"
        forged = api_client.post(
            "/api/v1/events", json=clear_event("log-2"), headers={"X-Request-ID": "x forged;<>"}
        )
        assert forged.headers["X-Request-ID"] != "x forged;<>"  # not echoed: a fresh id instead
        lines = [json.loads(JsonFormatter().format(rec)) for rec in records]
    finally:
        ingest_log.removeHandler(handler)
        ingest_log.setLevel(saved)
    first = next(line for line in lines if line.get("event_id") == "log-1")
    assert first["request_id"] == "req-abc.123"
    assert first["level"] == "INFO" and "1 accepted" in first["message"]
    second = next(line for line in lines if line.get("event_id") == "log-2")
    assert second["request_id"] == forged.headers["X-Request-ID"]


def test_metrics_reach_the_files_when_prometheus_client_was_imported_first(tmp_path) -> None:
    """Whatever imported prometheus_client before engine.pipeline.metrics (a test module did, in
    the full suite), this process's counters still reach the multiprocess files /metrics reads."""
    import subprocess
    import sys

    code = (
        "import prometheus_client\n"
        "import engine.pipeline.metrics as m\n"
        "m.EVENTS_RECEIVED.labels('http').inc(3)\n"
        "print(m.render()[0].decode())\n"
    )
    env = {**os.environ, "SANCTIONS_DATA_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert 'sanctions_events_received_total{channel="http"} 3.0' in out.stdout

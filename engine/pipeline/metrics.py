"""Prometheus metrics (prometheus-client), multi-process aware.

gunicorn workers and Celery pool processes are separate processes: every counter and histogram is
written in prometheus-client's multiprocess mode to ``PROMETHEUS_MULTIPROC_DIR`` (default
``<SANCTIONS_DATA_DIR>/metrics``) and summed at scrape time. State that lives in the store or the
broker (queue depth, undecided backlog and its age, list snapshot age, live workers) is read at
scrape time by ``StateCollector``, so it is right whichever process answers.

Scraped at ``/metrics`` on the web app (web.health; bearer token or loopback only) and, for a
worker machine, on ``SANCTIONS_METRICS_PORT`` served by the worker's main process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _multiproc_dir() -> Path:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        from engine.config import get_settings

        path = str(get_settings().resolved_data_dir / "metrics")
        # Read by prometheus_client when it is first imported (below): set it before that.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


MULTIPROC_DIR = _multiproc_dir()

from prometheus_client import (  # noqa: E402 - after PROMETHEUS_MULTIPROC_DIR is set
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import values as _values  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

# prometheus_client picks its value class when it is first imported. Another module may have
# imported it before PROMETHEUS_MULTIPROC_DIR was set above; pick again, or this process's
# metrics would stay in memory and never reach the files that /metrics reads.
_values.ValueClass = _values.get_value_class()

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
FAST_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1)

EVENTS_RECEIVED = Counter(
    "sanctions_events_received_total", "Events received (each item of a batch)", ["channel"]
)
EVENTS_ACCEPTED = Counter("sanctions_events_accepted_total", "Events newly stored", ["channel"])
EVENTS_DUPLICATE = Counter(
    "sanctions_events_duplicate_total", "Events re-sent with the same body (no-op)", ["channel"]
)
EVENTS_REFUSED = Counter(
    "sanctions_events_refused_total",
    "Events refused, by reason (the first error's type, or conflict)",
    ["channel", "reason"],
)
DECISIONS = Counter("sanctions_decisions_total", "Decisions stored, by status", ["status"])
ALERTS = Counter(
    "sanctions_alerts_total", "Alerts opened, by regime and severity", ["regime", "severity"]
)
PUSH_TO_DECISION = Histogram(
    "sanctions_push_to_decision_seconds",
    "From the event's receipt (commit) to its stored decision",
    buckets=LATENCY_BUCKETS,
)
EVALUATION = Histogram(
    "sanctions_evaluation_seconds",
    "Rule evaluation (screening included) per event, by rule pack version",
    ["pack"],
    buckets=FAST_BUCKETS,
)
SCREENING = Histogram(
    "sanctions_screening_seconds",
    "Screening of one event's parties and vessels",
    buckets=FAST_BUCKETS,
)
PUBLISH_FAILURES = Counter(
    "sanctions_publish_failures_total", "Stored events whose publish failed (left to the outbox)"
)


def record_ingest(channel: str, results: Sequence[Any]) -> None:
    """Count one ingest call's per-item results (engine.pipeline.ingest.ItemResult)."""
    EVENTS_RECEIVED.labels(channel).inc(len(results))
    accepted = sum(1 for r in results if r.status == "accepted")
    duplicate = sum(1 for r in results if r.status == "duplicate")
    if accepted:
        EVENTS_ACCEPTED.labels(channel).inc(accepted)
    if duplicate:
        EVENTS_DUPLICATE.labels(channel).inc(duplicate)
    for r in results:
        if r.status in ("invalid", "conflict"):
            reason = r.status if r.status == "conflict" else _reason(r.errors)
            EVENTS_REFUSED.labels(channel, reason).inc()


def _reason(errors: Sequence[dict[str, Any]]) -> str:
    for e in errors:
        kind = e.get("type")
        if kind:
            return str(kind)[:40]
    return "invalid"


def record_decisions(decisions: Iterable[Any], decided: set[str], received: dict[str, Any]) -> None:
    """Count stored decisions (only those this task inserted), their alerts and latency."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    # Counted per label and written once per label (each write is a locked mmap update in
    # multiprocess mode): a batch of 100 decisions costs a few writes, not hundreds.
    statuses: dict[str, int] = {}
    alerts: dict[tuple[str, str], int] = {}
    latencies: list[float] = []
    for d in decisions:
        if d.event_id not in decided:
            continue
        status = str(getattr(d.status, "value", d.status))
        statuses[status] = statuses.get(status, 0) + 1
        for v in d.violations:
            key = (v.regime, str(getattr(v.severity, "value", v.severity)))
            alerts[key] = alerts.get(key, 0) + 1
        at = received.get(d.event_id)
        if at is not None:
            latencies.append(max(0.0, (now - at).total_seconds()))
    for status, n in statuses.items():
        DECISIONS.labels(status).inc(n)
    for (regime, severity), n in alerts.items():
        ALERTS.labels(regime, severity).inc(n)
    observe_many(PUSH_TO_DECISION, latencies)


def observe_many(child: Any, values: Sequence[float]) -> None:
    """``child.observe(v)`` for each value, with one write per bucket and one for the sum (the
    same counts and sum as observing them one by one)."""
    if not values:
        return
    buckets = getattr(child, "_buckets", None)
    bounds = getattr(child, "_upper_bounds", None)
    total = getattr(child, "_sum", None)
    if buckets is None or bounds is None or total is None:  # not a prometheus_client histogram
        for v in values:
            child.observe(v)
        return
    child._raise_if_not_observable()
    counts = [0] * len(bounds)
    for v in values:
        for i, bound in enumerate(bounds):
            if v <= bound:
                counts[i] += 1
                break
    total.inc(sum(values))
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)


@contextmanager
def timed(histogram: Any, per: int = 1, **labels: str) -> Iterator[None]:
    """Observe the block's duration divided over ``per`` items (``per`` observations)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_each(histogram, time.perf_counter() - started, per, **labels)


def observe_each(histogram: Any, seconds: float, per: int = 1, **labels: str) -> None:
    """Observe ``seconds`` divided over ``per`` items (``per`` observations, at most 1,000)."""
    if per > 0:
        child = histogram.labels(**labels) if labels else histogram
        each = seconds / per
        observe_many(child, [each] * min(per, 1000))


class StateCollector:
    """Gauges read from the store and the broker at scrape time (engine.pipeline.readiness)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from engine.pipeline import readiness

        try:
            client = readiness.redis_client()
            broker = readiness.check_broker(client)
            workers = readiness.worker_heartbeats(client)
        except Exception:
            broker, workers = {"ok": False}, {"alive": 0}
        backlog = readiness.undecided_backlog()
        lists = readiness.list_snapshot_age()
        yield _gauge(
            "sanctions_broker_up", "1 when the broker answers", 1.0 if broker["ok"] else 0.0
        )
        if broker.get("ok"):
            yield _gauge(
                "sanctions_queue_depth", "Messages waiting on the queue", broker["queue_depth"]
            )
            yield _gauge(
                "sanctions_queue_unacked", "Messages delivered, not yet acked", broker["unacked"]
            )
        yield _gauge(
            "sanctions_workers_alive", "Workers with a live heartbeat", workers.get("alive", 0)
        )
        yield _gauge(
            "sanctions_database_up", "1 when the database answers", 1.0 if backlog["ok"] else 0.0
        )
        if backlog["ok"]:
            yield _gauge(
                "sanctions_undecided_events", "Stored events without a decision", backlog["count"]
            )
            yield _gauge(
                "sanctions_undecided_oldest_age_seconds",
                "Age of the oldest stored event without a decision",
                backlog["oldest_age_s"],
            )
        if lists.get("age_s") is not None:
            yield _gauge(
                "sanctions_list_snapshot_age_seconds",
                "Seconds since the dateGenerated of the newest stored UN list snapshot",
                lists["age_s"],
            )
        last = lists.get("last_import") or {}
        if last:
            yield _gauge(
                "sanctions_list_last_import_failed",
                "1 when the last `sanctions lists import` attempt failed (the last good snapshot is kept)",
                0.0 if last.get("ok") else 1.0,
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc)
    g.add_metric([], float(value))
    return g


def registry(with_state: bool = False) -> CollectorRegistry:
    reg = CollectorRegistry()
    multiprocess.MultiProcessCollector(reg, path=str(MULTIPROC_DIR))
    if with_state:
        reg.register(StateCollector())
    return reg


def render(with_state: bool = False) -> tuple[bytes, str]:
    return generate_latest(registry(with_state)), CONTENT_TYPE_LATEST


def serve(port: int, host: str = "127.0.0.1", with_state: bool = False) -> None:
    """Serve the metrics on their own port (a worker machine has no web app)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=registry(with_state))


def clear_dir() -> None:
    """Forget the files of processes that are gone (call before starting a fresh set)."""
    for path in MULTIPROC_DIR.glob("*.db"):
        path.unlink(missing_ok=True)

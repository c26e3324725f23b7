"""Webhook delivery rate of one dispatcher pass loop, and attempt latency, to a local receiver.

    .venv/bin/python bench/notify.py                 # 500 notifications, one endpoint
    .venv/bin/python bench/notify.py --n 2000 --endpoints 2

A fresh SQLite store (or DATABASE_URL) under a temporary data dir; ``--n`` notifications are
written to the outbox, then ``fan_out`` + ``deliver_due`` run until every delivery is delivered
to a threaded http.server on 127.0.0.1 that answers 200. Prints deliveries/s (wall), the attempt
latency percentiles the delivery log recorded, and the load average before and after (the
machine is shared: quote figures with it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("SANCTIONS_DATA_DIR", tempfile.mkdtemp(prefix="bench-notify-"))

    from notify_support import webhook_receiver
    from sqlalchemy import select

    from engine.notify import endpoints
    from engine.notify.dispatch import deliver_due, fan_out
    from engine.notify.events import CRITICAL_CASE, emit
    from engine.notify.settings import NotifySettings
    from engine.notify.tables import AttemptRow
    from engine.storage.db import get_engine, migrate

    migrate()
    print(f"load before: {os.getloadavg()}")
    settings = NotifySettings()
    with webhook_receiver() as rx:
        with get_engine().begin() as conn:
            for _ in range(args.endpoints):
                endpoints.create(conn, rx.url, [CRITICAL_CASE], "bench")
            for i in range(args.n):
                emit(conn, CRITICAL_CASE, f"bench:{i}", {"case": {"id": i, "title": "bench"}})
        start = time.perf_counter()
        total = args.n * args.endpoints
        while len(rx.requests) < total:
            fan_out(settings=settings)
            deliver_due(settings=settings, limit=500)
        wall = time.perf_counter() - start
    with get_engine().connect() as conn:
        latency = sorted(conn.scalars(select(AttemptRow.latency_ms)))
    q = statistics.quantiles(latency, n=100)
    print(
        f"{total} deliveries in {wall:.2f} s: {total / wall:,.0f} deliveries/s; "
        f"attempt latency p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms"
    )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

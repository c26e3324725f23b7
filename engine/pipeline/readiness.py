"""Readiness: can this service do its job right now? (``/readyz``, and the state gauges of /metrics).

Liveness (``/healthz``) only says the process answers. Readiness checks what the pipeline needs:
the database, the broker, live workers (heartbeats in Redis), how many stored events still wait
for a decision and since when, and how old the newest UN list snapshot is. Every check is bounded
by a short timeout and reports its error instead of raising.

Worker heartbeats: each worker's main process writes ``sanctions:worker:<hostname>`` (JSON, TTL
``HEARTBEAT_TTL``) every ``HEARTBEAT_INTERVAL`` seconds; a worker that dies stops refreshing it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_PREFIX = "sanctions:worker:"
HEARTBEAT_INTERVAL = 10.0
HEARTBEAT_TTL = 35


def redis_client(url: str | None = None, timeout: float = 2.0) -> Any:
    """A client on the configured broker; never starts the embedded server."""
    import redis

    from engine.pipeline.broker import broker_url

    url = url or broker_url(start=False)
    return redis.Redis.from_url(
        url.replace("redis+socket://", "unix://"),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


def check_database() -> dict[str, Any]:
    from sqlalchemy import text

    from engine.storage.db import get_engine

    started = time.monotonic()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return {"ok": False, "error": _short(exc)}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker(client: Any) -> dict[str, Any]:
    from engine.pipeline.queues import QUEUE

    try:
        client.ping()
        depth = int(client.llen(QUEUE))
        unacked = int(client.hlen("unacked"))
    except Exception as exc:
        return {"ok": False, "error": _short(exc)}
    return {"ok": True, "queue_depth": depth, "unacked": unacked}


def worker_heartbeats(client: Any) -> dict[str, Any]:
    try:
        keys = list(client.scan_iter(f"{HEARTBEAT_PREFIX}*", count=100))
        values = client.mget(keys) if keys else []
    except Exception as exc:
        return {"ok": False, "alive": 0, "error": _short(exc)}
    now = time.time()
    workers = []
    for value in values:
        if not value:
            continue
        try:
            beat = json.loads(value)
            workers.append(
                {"hostname": beat["hostname"], "age_s": round(now - float(beat["at"]), 1)}
            )
        except (ValueError, KeyError, TypeError):
            continue
    return {"ok": bool(workers), "alive": len(workers), "workers": workers}


def undecided_backlog() -> dict[str, Any]:
    from sqlalchemy import func, select

    from engine.storage.db import get_engine
    from engine.storage.repository import EVENTS, as_utc

    try:
        with get_engine().connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(EVENTS.c.received_at)).where(
                    EVENTS.c.status == "received"
                )
            ).one()
    except Exception as exc:
        return {"ok": False, "error": _short(exc)}
    age = (datetime.now(UTC) - as_utc(oldest)).total_seconds() if oldest else 0.0
    return {"ok": True, "count": int(count), "oldest_age_s": round(max(age, 0.0), 1)}


def list_snapshot_age() -> dict[str, Any]:
    """The newest UN list snapshot and the last import attempt (engine.lists.schedule); not ok
    when none is stored, or when SANCTIONS_LIST_MAX_AGE_HOURS is set and it is older."""
    from engine.lists.schedule import readiness as list_readiness

    try:
        fresh, detail = list_readiness()
    except Exception as exc:
        return {"ok": False, "error": _short(exc)}
    if detail.get("newest_snapshot") is None:
        return {"ok": False, "error": "no UN list snapshot imported", **detail}
    return {"ok": bool(fresh), "age_s": detail.get("age_seconds"), **detail}


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, report). Ready means ingest works: the database and the broker answer. Workers,
    backlog and list age are reported (a web process can take events while workers restart)."""
    checks: dict[str, Any] = {"database": check_database()}
    try:
        client = redis_client()
    except Exception as exc:
        client = None
        checks["broker"] = {"ok": False, "error": _short(exc)}
    if client is not None:
        checks["broker"] = check_broker(client)
        checks["workers"] = worker_heartbeats(client)
    if checks["database"]["ok"]:
        checks["backlog"] = undecided_backlog()
        checks["lists"] = list_snapshot_age()
    ready = bool(checks["database"]["ok"] and checks["broker"]["ok"])
    # Stale lists make the service unready only when a maximum age is configured for them.
    if ready and checks["lists"].get("stale"):
        ready = False
    return ready, {"status": "ready" if ready else "unavailable", "checks": checks}


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


# -- worker heartbeat thread ---------------------------------------------------------------------

_beat_thread: threading.Thread | None = None
_beat_stop = threading.Event()


def start_heartbeat(hostname: str | None = None, interval: float = HEARTBEAT_INTERVAL) -> None:
    """Refresh this worker's heartbeat key in a daemon thread (once per process)."""
    global _beat_thread
    if _beat_thread is not None and _beat_thread.is_alive():
        return
    name = hostname or f"{os.getpid()}@{socket.gethostname()}"
    _beat_stop.clear()

    def loop() -> None:
        client = None
        while True:
            try:
                client = client or redis_client()
                client.set(
                    HEARTBEAT_PREFIX + name,
                    json.dumps({"hostname": name, "pid": os.getpid(), "at": time.time()}),
                    ex=HEARTBEAT_TTL,
                )
            except Exception as exc:
                log.debug("heartbeat not written: %s", exc)
                client = None
            if _beat_stop.wait(interval):
                return

    _beat_thread = threading.Thread(target=loop, name="sanctions-heartbeat", daemon=True)
    _beat_thread.start()


def stop_heartbeat(hostname: str | None = None) -> None:
    _beat_stop.set()
    if hostname:
        try:
            redis_client().delete(HEARTBEAT_PREFIX + hostname)
        except Exception:
            pass

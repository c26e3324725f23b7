"""List freshness, as yente keeps it: `sanctions lists import` on a schedule, every attempt
recorded, and the age of the newest snapshot for /lists, /readyz and a metric.

- ``SANCTIONS_LIST_IMPORT_INTERVAL`` (seconds, default 21600 = 6 h; 0 = off, as in the tests):
  every worker's main process runs a background thread that imports ``SANCTIONS_UN_LIST_URL``
  when the last attempt by any process is older than the interval (a Redis lock keeps two
  workers from importing at once). ``sanctions lists import --every 6h`` runs the same loop in the
  foreground for deployments that schedule it themselves.
- An attempt that fails (network, HTTP error, a file that does not parse) stores no snapshot:
  screening keeps the last good one. The failure is recorded (``list_import_runs``) and shown.
- ``freshness()`` / ``readiness()``: the newest snapshot's dateGenerated and age, the last attempt
  and the last success. Readiness fails only when ``SANCTIONS_LIST_MAX_AGE_HOURS`` is set (> 0)
  and the newest snapshot is older than that, or there is none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Table, select, update

from engine.lists.tables import ListImportRunRow
from engine.storage.db import get_engine
from engine.storage.repository import as_utc

log = logging.getLogger(__name__)

RUNS: Table = ListImportRunRow.__table__  # type: ignore[assignment]
LOCK_KEY = "sanctions:lists:import:lock"


class ListScheduleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    interval: float = Field(default=6 * 3600.0, ge=0, alias="SANCTIONS_LIST_IMPORT_INTERVAL")
    max_age_hours: float = Field(default=0.0, ge=0, alias="SANCTIONS_LIST_MAX_AGE_HOURS")


@dataclass(frozen=True, slots=True)
class ImportRun:
    started_at: datetime
    finished_at: datetime | None
    trigger: str
    source: str
    ok: bool
    created: bool
    snapshot_sha256: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Freshness:
    newest_generated: datetime | None  # dateGenerated of the newest snapshot
    newest_imported: datetime | None
    age_seconds: float | None  # now - newest dateGenerated
    last_run: ImportRun | None
    last_success: ImportRun | None
    max_age_hours: float
    interval_seconds: float

    @property
    def stale(self) -> bool:
        if self.max_age_hours <= 0:
            return False
        return self.age_seconds is None or self.age_seconds > self.max_age_hours * 3600

    @property
    def age_text(self) -> str:
        if self.age_seconds is None:
            return "no snapshot"
        days, rest = divmod(int(self.age_seconds), 86400)
        return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"


def _run(row: Any) -> ImportRun:
    return ImportRun(
        started_at=as_utc(row["started_at"]),
        finished_at=as_utc(row["finished_at"]) if row["finished_at"] else None,
        trigger=row["trigger"],
        source=row["source"],
        ok=bool(row["ok"]),
        created=bool(row["created"]),
        snapshot_sha256=row["snapshot_sha256"],
        error=row["error"],
    )


def runs(limit: int = 20) -> list[ImportRun]:
    """The latest attempts, newest first."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit)
        ).mappings()
        return [_run(r) for r in rows]


def _last(ok_only: bool) -> ImportRun | None:
    q = select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(1)
    if ok_only:
        q = q.where(RUNS.c.ok.is_(True))
    with get_engine().connect() as conn:
        row = conn.execute(q).mappings().first()
    return _run(row) if row else None


def record_import(source: str, trigger: str, attempt: Callable[[], Any]) -> tuple[ImportRun, Any]:
    """Run ``attempt`` (an import) and record it; returns the run and the attempt's result (None
    when it raised: the exception is recorded, logged and re-raised only for the CLI)."""
    with get_engine().begin() as conn:
        run_id = conn.execute(
            RUNS.insert()
            .values(started_at=datetime.now(UTC), trigger=trigger, source=source, ok=False)
            .returning(RUNS.c.id)
        ).scalar_one()
    values: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    try:
        result = attempt()
        values = {
            "ok": True,
            "created": bool(getattr(result, "created", False)),
            "snapshot_sha256": getattr(getattr(result, "snapshot", None), "sha256", None),
        }
    except Exception as exc:
        error = exc
        values = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    with get_engine().begin() as conn:
        conn.execute(
            update(RUNS).where(RUNS.c.id == run_id).values(finished_at=datetime.now(UTC), **values)
        )
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().one()
    run = _run(row)
    if error is not None:
        log.warning("list import from %s failed (last good snapshot kept): %s", source, run.error)
        if trigger == "cli":
            raise error
    return run, result


def freshness(now: datetime | None = None) -> Freshness:
    from engine.lists import store

    settings = ListScheduleSettings()
    now = now or datetime.now(UTC)
    found = store.snapshots()
    newest = max(found, key=lambda s: (s.date_generated, s.id)) if found else None
    return Freshness(
        newest_generated=newest.date_generated if newest else None,
        newest_imported=newest.imported_at if newest else None,
        age_seconds=(now - newest.date_generated).total_seconds() if newest else None,
        last_run=_last(False),
        last_success=_last(True),
        max_age_hours=settings.max_age_hours,
        interval_seconds=settings.interval,
    )


def readiness(now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """For /readyz: (ready, detail). Not ready only when a maximum age is configured and the
    newest snapshot is older (or missing); the detail always carries the age."""
    f = freshness(now)
    detail: dict[str, Any] = {
        "newest_snapshot": f.newest_generated.isoformat() if f.newest_generated else None,
        "age_seconds": round(f.age_seconds) if f.age_seconds is not None else None,
        "max_age_hours": f.max_age_hours or None,
        "stale": f.stale,
        "last_import": (
            {
                "at": f.last_run.started_at.isoformat(),
                "ok": f.last_run.ok,
                "error": f.last_run.error,
            }
            if f.last_run
            else None
        ),
    }
    return not f.stale, detail


def register_metrics(registry: Any = None) -> None:
    """Gauges for /metrics (prometheus-client): the newest snapshot's age, read at scrape time,
    and whether the last import attempt failed. Call once with the app's registry."""
    from prometheus_client import REGISTRY, Gauge

    registry = registry or REGISTRY

    def age() -> float:
        f = freshness()
        return f.age_seconds if f.age_seconds is not None else float("nan")

    def failed() -> float:
        last = _last(False)
        return 1.0 if last is not None and not last.ok else 0.0

    Gauge(
        "sanctions_list_snapshot_age_seconds",
        "Seconds since the dateGenerated of the newest stored UN list snapshot",
        registry=registry,
    ).set_function(age)
    Gauge(
        "sanctions_list_last_import_failed",
        "1 when the last `sanctions lists import` attempt failed (the last good snapshot is kept)",
        registry=registry,
    ).set_function(failed)


def due(now: datetime | None = None, interval: float | None = None) -> bool:
    """The last attempt (any process, any outcome) is older than the interval."""
    interval = ListScheduleSettings().interval if interval is None else interval
    last = _last(False)
    now = now or datetime.now(UTC)
    return last is None or now - last.started_at >= timedelta(seconds=interval)


def import_if_due(source: str | None = None, interval: float | None = None) -> ImportRun | None:
    """One scheduled import when due, under a Redis lock; never raises (the loop must go on)."""
    from engine.config import get_settings
    from engine.lists.importer import import_list

    source = source or get_settings().un_list_url
    from engine.pipeline.broker import try_lock

    with try_lock(LOCK_KEY, 1800) as held:
        if held is None:
            return None
        try:
            if not due(interval=interval):
                return None
            run, _ = record_import(source, "schedule", lambda: import_list(source))
            return run
        except Exception:
            log.exception("scheduled list import could not run")
            return None


_thread: threading.Thread | None = None
_stop = threading.Event()


def start_background_importer(interval: float | None = None) -> threading.Thread | None:
    """Check every few minutes whether an import is due (once per process; 0 = off)."""
    global _thread
    interval = ListScheduleSettings().interval if interval is None else interval
    if interval <= 0 or (_thread is not None and _thread.is_alive()):
        return _thread
    _stop.clear()
    check = min(interval, 300.0)

    def loop() -> None:
        while True:
            import_if_due(interval=interval)
            if _stop.wait(check):
                return

    _thread = threading.Thread(target=loop, name="sanctions-list-import", daemon=True)
    _thread.start()
    return _thread


def stop_background_importer() -> None:
    _stop.set()

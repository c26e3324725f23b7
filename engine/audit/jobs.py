"""Period replays and audit pack exports asked for from the web app, each run in a process of
its own (``python -m engine.audit.jobs JOB_ID``), never on the live workers' queue. Progress and
the report are written on the ``audit_jobs`` row, which stays: the report remains available."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, update

from engine.audit.tables import AuditJobRow
from engine.storage.db import get_engine, session_scope

log = logging.getLogger(__name__)
JOBS: Table = AuditJobRow.__table__  # type: ignore[assignment]


def request_job(kind: str, params: dict[str, Any], requested_by: str, start: bool = True) -> int:
    if kind not in ("replay", "export"):
        raise ValueError(kind)
    with session_scope() as s:
        row = AuditJobRow(
            kind=kind,
            params=params,
            requested_by=requested_by,
            requested_at=datetime.now(UTC),
            status="queued",
            done=0,
        )
        s.add(row)
        s.flush()
        job_id = row.id
    if start:
        spawn(job_id)
    return job_id


def spawn(job_id: int) -> subprocess.Popen[bytes]:
    """Start the job's own process (detached: it outlives the web request)."""
    return subprocess.Popen(
        [sys.executable, "-m", "engine.audit.jobs", str(job_id)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _set(job_id: int, **values: Any) -> None:
    with get_engine().begin() as conn:
        conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(**values))


def run_job(job_id: int) -> str:
    with session_scope() as s:
        row = s.get(AuditJobRow, job_id)
        if row is None or row.status != "queued":
            return "skipped"
        kind, params = row.kind, dict(row.params)
        row.status = "running"
    try:
        if kind == "replay":
            from engine.replay_cli import run_period

            report = run_period(
                params["from"],
                params["to"],
                params.get("regime"),
                params.get("against"),
                params.get("lists"),
                progress=lambda done, total: _set(job_id, done=done, total=total),
                jobs=params.get("jobs"),  # None: one worker process per CPU
            )
            _set(job_id, status="done", report=report.to_json(), finished_at=datetime.now(UTC))
        else:
            from engine.audit.export import export_pack
            from engine.config import get_settings
            from engine.replay_cli import parse_day

            out_dir = get_settings().resolved_data_dir / "audit-packs"
            out_dir.mkdir(parents=True, exist_ok=True)
            out = out_dir / f"audit-pack-{job_id}.zip"
            summary = export_pack(
                out, parse_day(params["from"]), parse_day(params["to"]), params.get("regime")
            )
            _set(
                job_id,
                status="done",
                report=summary,
                file=str(out),
                finished_at=datetime.now(UTC),
            )
    except Exception as exc:
        log.exception("audit job %s failed", job_id)
        _set(
            job_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=datetime.now(UTC),
        )
        return "failed"
    return "done"


def pack_path(row: AuditJobRow) -> Path | None:
    return Path(row.file) if row.file else None


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(0 if run_job(int(sys.argv[1])) == "done" else 1)

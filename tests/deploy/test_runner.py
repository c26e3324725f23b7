"""`make run` end to end: `sanctions run` starts broker, worker and web with the demo data,
the Najin-Dunay demo shipment is flagged under the DPRK arms measures, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SANCTIONS_DB_SCHEMA")
    }
    env.update(SANCTIONS_DATA_DIR=str(tmp_path / "data"), SANCTIONS_PORT=str(port))
    sanctions = Path(sys.executable).parent / "sanctions"
    proc = subprocess.Popen(
        [str(sanctions), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running at" in line:
                break
        out = "".join(lines)
        assert f"running at http://127.0.0.1:{port}" in out, out
        assert "officer" in out and "auditor" in out  # demo credentials printed
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}

        db = tmp_path / "data" / "sanctions.db"
        rules: set[str] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                rows = conn.execute(
                    "SELECT rule_id FROM alerts WHERE event_id = 'demo-tms:ANGARA-1'"
                ).fetchall()
                undecided = conn.execute(
                    "SELECT count(*) FROM events WHERE status = 'received'"
                ).fetchone()[0]
            rules = {r[0] for r in rows}
            if rules and undecided == 0:
                break
            time.sleep(1)
        assert {"UNSCR-1718-OP8b", "UNSCR-1874-OP9"} <= rules
        with sqlite3.connect(db) as conn:
            lawful = conn.execute(
                "SELECT status FROM decisions WHERE event_id IN ('demo-erp:PO-5521', 'demo-tms:BK-88812')"
            ).fetchall()
        assert [s for (s,) in lawful] == ["clear", "clear"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # Everything it started is gone: the web port is closed and the embedded Redis stopped.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not (tmp_path / "data" / "redis" / "redis.sock").exists() or not _redis_alive(tmp_path)


def _redis_alive(tmp_path: Path) -> bool:
    import redis

    try:
        return bool(
            redis.Redis(unix_socket_path=str(tmp_path / "data" / "redis" / "redis.sock")).ping()
        )
    except redis.RedisError:
        return False

"""`make run` end to end: `sanctions run` starts broker, worker and web with the demo data,
the Najin-Dunay demo shipment is flagged under the DPRK arms measures, a SIGKILLed worker or
broker is restarted by the supervisor while the web keeps answering, and Ctrl-C stops it all
(every process it started is gone). Robust on a loaded box: its output is drained by a thread
(a full pipe would block it), and every wait is a condition with a deadline."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """Reads the child's output in a thread (so it never blocks on a full pipe)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = re.search(pattern, "".join(self.lines[after:]))
                if match or time.monotonic() >= deadline:
                    return match
                self._cond.wait(timeout=1)

    def count(self) -> int:
        with self._cond:
            return len(self.lines)


def _pids(out: str, name: str) -> list[int]:
    return [int(p) for p in re.findall(rf"{name} started \(pid (\d+)\)", out)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _group_of(pid: int) -> list[int]:
    """The process and every descendant (worker pool, gunicorn workers)."""
    try:
        proc = psutil.Process(pid)
        return [pid] + [c.pid for c in proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [pid]


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_make_run_serves_the_demo_survives_crashes_and_stops_cleanly(tmp_path: Path) -> None:
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
    output = Output(proc)
    started: list[int] = []
    try:
        assert output.wait_for(r"running at http://127\.0\.0\.1:\d+", timeout=300), output.text
        out = output.text
        assert f"running at http://127.0.0.1:{port}" in out, out
        assert "officer" in out and "auditor" in out  # demo credentials printed
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        for name in ("broker", "worker", "web"):
            for pid in _pids(out, name):
                started += _group_of(pid)

        db = tmp_path / "data" / "sanctions.db"
        rules: set[str] = set()
        deadline = time.monotonic() + 120
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

        # Supervision: SIGKILL the worker (main + pool), then the broker; each comes back.
        for name in ("worker", "broker"):
            before = output.count()
            (pid,) = _pids(output.text, name)[-1:]
            victims = _group_of(pid)
            for victim in victims:
                os.kill(victim, signal.SIGKILL)
            match = output.wait_for(rf"{name} started \(pid (\d+)\)", timeout=120, after=before)
            assert match, output.text
            assert f"{name} (pid {pid}) exited" in output.text
            new = int(match.group(1))
            assert new != pid and not _gone(new)
            started += _group_of(new)
            assert _healthy(port), "the web app went down with the " + name
        assert proc.poll() is None, output.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)  # bounded by design: ~30 s at most, even on a loaded box
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output.text
    assert "stopped" in output.text
    # Everything it started is gone: the web port is closed and the embedded Redis stopped.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not _redis_alive(tmp_path)
    left = [p for p in set(started) if not _gone(p)]
    assert not left, f"still running after shutdown: {left}"


def _redis_alive(tmp_path: Path) -> bool:
    import redis

    try:
        return bool(
            redis.Redis(unix_socket_path=str(tmp_path / "data" / "redis" / "redis.sock")).ping()
        )
    except redis.RedisError:
        return False

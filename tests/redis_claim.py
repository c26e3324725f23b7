"""A Redis database number of its own for each test run on a shared server.

Runs on one machine (a developer's, CI's, several at once) share the external Redis. Each run
flushes its database at start and end (conftest's ``broker_url``), so two runs on one number wipe
each other's queue and unacked messages: a worker then waits for events whose messages are gone.
A run claims a free number 1..15 with ``SET NX`` on a key in database 0 (never flushed by a test
run) and releases it at the end; a claim left by a killed run expires.
"""

from __future__ import annotations

import uuid

import redis

KEY = "sanctions-test:redis-db:{}"
NUMBERS = range(1, 16)
TTL = 4 * 3600  # longer than any run; a killed run's claim expires on its own


def _base(url: str) -> str:
    """The server part of a ``redis://host:port[/db]`` URL."""
    return url.rsplit("/", 1)[0] if url.count("/") > 2 else url.rstrip("/")


def claim(url: str, ttl: int = TTL) -> tuple[str, str, str] | None:
    """(URL with a claimed database number, claim key, token), or None when all are taken."""
    base = _base(url)
    token = uuid.uuid4().hex
    client = redis.Redis.from_url(f"{base}/0", socket_connect_timeout=3)
    try:
        for n in NUMBERS:
            if client.set(KEY.format(n), token, nx=True, ex=ttl):
                return f"{base}/{n}", KEY.format(n), token
    finally:
        client.close()
    return None


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def release(url: str, key: str, token: str) -> None:
    """Give the number back, only if this run still holds it."""
    client = redis.Redis.from_url(f"{_base(url)}/0", socket_connect_timeout=3)
    try:
        client.eval(_RELEASE, 1, key, token)
    finally:
        client.close()

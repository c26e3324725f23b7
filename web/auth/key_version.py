"""A revocation counter for API keys in Redis, so a revocation is effective at once everywhere.

Every process caches verified keys (``web.auth.apikeys``) together with the counter's value at the
time; each request reads the counter (one Redis GET, ~0.1 ms, against a database round trip), and a
cached entry counts only while the counter is unchanged. Revoking a key increments it, whichever
process does it (a gunicorn worker, the CLI). When Redis cannot be read the cache is not used: the
database answers every request until Redis is back (it is re-tried after ``RETRY_AFTER`` s, so an
outage costs no connect timeout per request).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

KEY = "sanctions:api_keys:version"
RETRY_AFTER = 1.0
UNAVAILABLE = object()  # the counter could not be read: trust no cached entry

_clients: dict[str, Any] = {}
_down_until = 0.0
_lock = threading.Lock()


def _client(url: str) -> Any:
    import redis

    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(
            url.replace("redis+socket://", "unix://"),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        with _lock:
            _clients[url] = client
    return client


def _url(url: str | None) -> str:
    if url:
        return url
    from engine.pipeline.broker import broker_url

    return broker_url(start=False)  # never start a server from a request


def current(url: str | None = None) -> object:
    """The counter's value (bytes or None when never bumped), or ``UNAVAILABLE``."""
    global _down_until
    if time.monotonic() < _down_until:
        return UNAVAILABLE
    try:
        return _client(_url(url)).get(KEY)
    except Exception:
        _down_until = time.monotonic() + RETRY_AFTER
        return UNAVAILABLE


def bump(url: str | None = None) -> bool:
    """Invalidate every process's cached keys; False (and a warning) when Redis is unreachable,
    in which case other processes notice within their cache TTL."""
    global _down_until
    try:
        _client(_url(url)).incr(KEY)
        _down_until = 0.0
        return True
    except Exception:
        log.warning(
            "API key revocation counter not reachable; other processes see it within the TTL"
        )
        return False

"""One webhook attempt: POST the notification's JSON, signed, and say what came back."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from engine.notify.signing import HEADER, header_value

USER_AGENT = "sanctions-engine-webhooks/1"
EXCERPT = 1000  # characters of the response body kept in the delivery log


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    excerpt: str | None
    error: str | None
    latency_ms: float


def url_problem(url: str, allow_http: bool = False) -> str | None:
    """Why an endpoint URL is refused (None: fine). https, or http to a loopback address (local
    receivers, tests) or anywhere when SANCTIONS_WEBHOOK_ALLOW_HTTP is set."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the URL must start with https:// and name a host"
    if parts.username or parts.password:
        return "put no credentials in the URL (the signature authenticates us)"
    if parts.scheme == "http" and not allow_http and not _loopback(parts.hostname):
        return (
            "use https (plain http only to a loopback address, or set SANCTIONS_WEBHOOK_ALLOW_HTTP)"
        )
    if len(url) > 2000:
        return "the URL is longer than 2000 characters"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def client() -> httpx.Client:
    """One client per process: building one loads the CA bundle (~25 ms idle, far more on a
    loaded box), and it keeps connections to a receiver alive between attempts."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            )
        return _client


def post(
    url: str,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> Outcome:
    """Any 2xx is delivered; anything else (other status, timeout, refused) is a failed attempt.
    Redirects are not followed: an endpoint that moved is fixed by its admin."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
        HEADER: header_value(secret, body),
    }
    start = time.perf_counter()
    try:
        with client().stream("POST", url, content=body, headers=sent, timeout=timeout) as response:
            kept = b""
            for chunk in response.iter_bytes():  # an excerpt, not a receiver's whole answer
                kept += chunk
                if len(kept) >= 4 * EXCERPT:
                    break
        text = kept.decode(errors="replace")[:EXCERPT]
    except httpx.HTTPError as exc:
        return Outcome(False, None, None, f"{type(exc).__name__}: {exc}"[:500], _ms(start))
    code = response.status_code
    ok = 200 <= code < 300
    return Outcome(ok, code, text, None if ok else f"HTTP {code}", _ms(start))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)

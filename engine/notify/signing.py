"""The webhook signature: ``X-Sanctions-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 with the endpoint's secret over ``f"{t}.".encode() + body`` (the raw request body
bytes). Receivers recompute it, compare in constant time and refuse a ``t`` too far from their
clock (replay protection); several ``v1=`` values may appear while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Sanctions-Signature"
TOLERANCE = 300  # seconds a receiver accepts between t and its own clock


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> bool:
    """What a receiver does (the docs' reference, and the tests' receiver): True only for a
    well-formed header whose timestamp is within ``tolerance`` and one v1 matches the body."""
    t: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1":
            candidates.append(value)
    if t is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = signature(secret, t, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)

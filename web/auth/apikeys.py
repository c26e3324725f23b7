"""API keys for upstream systems: high-entropy, shown once, stored as sha256, scoped, revocable.

``enforce_api_key`` runs before every request under ``/api/``: no or unknown/revoked key -> 401,
key without the scope of the request (GET/HEAD -> events:read, anything else -> events:write;
under ``/api/v1/exemptions``: reading needs any registers:* scope, approving registers:approve,
other changes registers:write) -> 403. ``GET /api/v1/schema`` stays public.

Verification is cached in-process for ``SANCTIONS_API_KEY_CACHE_TTL`` seconds (default 5; app
config key of the same name overrides; 0 = no cache): the lookup was a database round trip on
every ingest request. A cached entry is used only while the revocation counter in Redis
(``web.auth.key_version``) still has the value it had when the entry was made; revoking a key bumps
it, so revocation takes effect at once in every process (other gunicorn workers, the CLI). Without
Redis the database is asked on every request; the TTL only bounds the case where Redis was
unreachable for the revoking process but readable for the others. Only active keys are cached (an
unknown key is looked up every time, so a new key works at once).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, jsonify, request
from sqlalchemy import select, update

from engine.storage.db import session_scope
from engine.storage.desk_tables import API_SCOPES, ApiKeyRow
from web.auth import key_version
from web.desk.audit import record

KEY_PREFIX = "sk_"
PUBLIC_API_PATHS = frozenset({"/api/v1/schema", "/api/v1/openapi.json"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is informative; writing it on every ingest request would serialise the API.
LAST_USED_RESOLUTION = timedelta(minutes=1)
CACHE_TTL_SETTING = "SANCTIONS_API_KEY_CACHE_TTL"
DEFAULT_CACHE_TTL = 5.0
CACHE_MAX_ENTRIES = 1024  # a handful of upstream systems; bounded anyway


@dataclass(frozen=True)
class ActiveKey:
    """What a request needs to know about a verified key (no ORM object kept across requests)."""

    id: int
    name: str
    prefix: str
    scopes: frozenset[str]


# sha256 of the key -> (expires, revocation counter when cached, key)
_cache: dict[str, tuple[float, object, ActiveKey]] = {}
_cache_lock = threading.Lock()


def _env_ttl() -> float:
    try:
        return max(0.0, float(os.environ.get(CACHE_TTL_SETTING, DEFAULT_CACHE_TTL)))
    except ValueError:
        return DEFAULT_CACHE_TTL


_ENV_TTL = _env_ttl()


def forget_cached_keys() -> None:
    """Drop every cached verification (revocation does this for its own process)."""
    with _cache_lock:
        _cache.clear()


class ApiKeyError(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    name: str, scopes: list[str] | tuple[str, ...], actor: str
) -> tuple[ApiKeyRow, str]:
    """Create a key; returns (row, the key itself). The key is not stored and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("name must be 1 to 100 characters")
    scopes = sorted(set(scopes))
    bad = [s for s in scopes if s not in API_SCOPES]
    if bad or not scopes:
        raise ApiKeyError(f"scopes must be a non-empty subset of {', '.join(API_SCOPES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as s:
        row = ApiKeyRow(
            name=name,
            prefix=key[:10],
            key_hash=hash_key(key),
            scopes=scopes,
            created_by=actor,
            created_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        record(
            s,
            actor,
            "api_key.create",
            "api_key",
            row.id,
            after={"name": name, "scopes": scopes, "revoked": False},
        )
    return row, key


def list_api_keys() -> list[ApiKeyRow]:
    with session_scope() as s:
        return list(s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))


def revoke_api_key(key_id: int, actor: str) -> ApiKeyRow:
    with session_scope() as s:
        row = s.get(ApiKeyRow, key_id, with_for_update=True)
        if row is None:
            raise ApiKeyError(f"no API key {key_id}")
        if row.revoked_at is not None:
            raise ApiKeyError(f"API key {key_id} is already revoked")
        row.revoked_at = datetime.now(UTC)
        row.revoked_by = actor
        # audit verify holds the key row to this after (engine.audit.states)
        record(
            s,
            actor,
            "api_key.revoke",
            "api_key",
            row.id,
            before={"revoked": False},
            after={"revoked": True, "revoked_by": actor, "revoked_at": row.revoked_at},
        )
    # At once in this process, and in every other one through the counter in Redis.
    forget_cached_keys()
    key_version.bump()
    return row


def lookup(key: str) -> ApiKeyRow | None:
    """The active key row for this key, or None."""
    digest = hash_key(key)
    with session_scope() as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
        if row is None or row.revoked_at is not None:
            return None
        # Constant-time compare of the digest we looked up (defence in depth).
        if not hmac.compare_digest(row.key_hash, digest):
            return None
        now = datetime.now(UTC)
        last = row.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if last is None or now - last > LAST_USED_RESOLUTION:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now))
        return row


def verify(key: str, ttl: float, version: object = key_version.UNAVAILABLE) -> ActiveKey | None:
    """The active key for this key string, from the cache when verified less than ``ttl`` s ago
    and no key was revoked since (``version``: the revocation counter now; UNAVAILABLE: no cache)."""
    digest = hash_key(key)
    now = time.monotonic()
    if version is key_version.UNAVAILABLE:
        ttl = 0.0
    if ttl > 0:
        hit = _cache.get(digest)
        if hit is not None and hit[0] > now and hit[1] == version:
            return hit[2]
    row = lookup(key)
    if row is None:
        if ttl > 0:
            with _cache_lock:
                _cache.pop(digest, None)
        return None
    active = ActiveKey(row.id, row.name, row.prefix, frozenset(row.scopes))
    if ttl > 0:
        with _cache_lock:
            if len(_cache) >= CACHE_MAX_ENTRIES:
                _cache.clear()
            _cache[digest] = (now + ttl, version, active)
    return active


def _ttl() -> float:
    value = current_app.config.get(CACHE_TTL_SETTING)
    return _ENV_TTL if value is None else max(0.0, float(value))


def presented_key() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


REGISTER_API = "/api/v1/exemptions"
REGISTER_SCOPES = frozenset({"registers:read", "registers:write", "registers:approve"})


def required_scope(method: str, path: str = "") -> str:
    if path == REGISTER_API or path.startswith(REGISTER_API + "/"):
        if method in READ_METHODS:
            return "registers:read"
        return "registers:approve" if path.rstrip("/").endswith("/approve") else "registers:write"
    return "events:read" if method in READ_METHODS else "events:write"


def has_scope(scopes: frozenset[str], scope: str) -> bool:
    # Makers and checkers may read the register they work on.
    return scope in scopes or (scope == "registers:read" and bool(scopes & REGISTER_SCOPES))


def _refuse(status: int, message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sanctions-api"'
    return response


def enforce_api_key() -> Any:
    """before_request for the ingest API (``/api/*``): 401 without a valid key, 403 without scope."""
    if not (request.path == "/api" or request.path.startswith("/api/")):
        return None
    if request.path in PUBLIC_API_PATHS and request.method in READ_METHODS:
        return None
    key = presented_key()
    if not key:
        return _refuse(401, "API key required: send 'Authorization: Bearer <key>' or 'X-API-Key'")
    ttl = _ttl()
    version = (
        key_version.current(current_app.config.get("SANCTIONS_BROKER_URL"))
        if ttl > 0
        else key_version.UNAVAILABLE
    )
    active = verify(key, ttl, version)
    if active is None:
        return _refuse(401, "unknown or revoked API key")
    scope = required_scope(request.method, request.path)
    if not has_scope(active.scopes, scope):
        return _refuse(403, f"this API key lacks the scope {scope}")
    g.api_key = active
    return None

"""API-key verification is cached in-process for a short TTL. A revocation through
``revoke_api_key`` is effective at once everywhere (tests/test_web_security.py, via the counter in
Redis); a key revoked straight in the database, bypassing the counter, stops within the TTL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import update


def _revoke_elsewhere(key_id: int) -> None:
    """Revoke as another process would (CLI, another gunicorn worker): straight in the database,
    without touching this process's cache."""
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import ApiKeyRow

    with session_scope() as s:
        s.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id)
            .values(revoked_at=datetime.now(UTC), revoked_by="other")
        )


def _app(ttl: float):
    from web import create_app

    return create_app({"TESTING": True, "SANCTIONS_API_KEY_CACHE_TTL": ttl})


def test_revoked_elsewhere_stops_working_after_the_ttl(db) -> None:
    from web.auth.apikeys import create_api_key

    client = _app(1).test_client()
    row, key = create_api_key("feed", ["events:read"], actor="admin")
    headers = {"X-API-Key": key}
    assert client.get("/api/v1/events/none", headers=headers).status_code == 404  # verified, cached
    _revoke_elsewhere(row.id)
    deadline = time.monotonic() + 1.0 + 1.5
    status = client.get("/api/v1/events/none", headers=headers).status_code
    while status != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
        status = client.get("/api/v1/events/none", headers=headers).status_code
    assert status == 401
    # and it stays refused (a refused key is never cached as valid)
    assert client.get("/api/v1/events/none", headers=headers).status_code == 401


def test_ttl_zero_checks_the_database_on_every_request(db) -> None:
    from web.auth.apikeys import create_api_key

    client = _app(0).test_client()
    row, key = create_api_key("feed", ["events:read"], actor="admin")
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 404
    _revoke_elsewhere(row.id)
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 401


def test_revocation_in_this_process_is_immediate_despite_a_long_ttl(db) -> None:
    from web.auth.apikeys import create_api_key, revoke_api_key

    client = _app(3600).test_client()
    row, key = create_api_key("feed", ["events:read", "events:write"], actor="admin")
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 404
    revoke_api_key(row.id, actor="admin")
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 401


def test_cached_key_keeps_its_scopes(db) -> None:
    from web.auth.apikeys import create_api_key

    client = _app(60).test_client()
    _row, key = create_api_key("reader", ["events:read"], actor="admin")
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 404
    resp = client.post("/api/v1/events", json={}, headers={"X-API-Key": key})
    assert resp.status_code == 403 and "events:write" in resp.get_json()["error"]


@pytest.mark.parametrize("bad", ["", "sk_nope"])
def test_unknown_keys_are_refused(db, bad: str) -> None:
    client = _app(60).test_client()
    assert client.get("/api/v1/events/none", headers={"X-API-Key": bad}).status_code == 401

"""API keys: shown once, stored hashed, scoped, revocable; the ingest API refuses without one."""

from __future__ import annotations

import hashlib
import re

import pytest
import web_seed
from click.testing import CliRunner
from sqlalchemy import select


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True})


def test_key_is_stored_only_as_its_hash(app) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import ApiKeyRow
    from web.auth.apikeys import create_api_key

    row, key = create_api_key("tms-7", ["events:write"], actor="admin")
    assert key.startswith("sk_") and len(key) > 40
    with session_scope() as s:
        stored = s.get(ApiKeyRow, row.id)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(stored.__dict__)


def test_api_refuses_without_key_wrong_scope_or_revoked(app) -> None:
    from web.auth.apikeys import create_api_key, revoke_api_key

    client = app.test_client()
    event = web_seed.shipment("api-1")
    assert client.post("/api/v1/events", json=event).status_code == 401
    assert (
        client.post(
            "/api/v1/events", json=event, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    reader, read_key = create_api_key("reader", ["events:read"], actor="admin")
    writer, write_key = create_api_key("writer", ["events:write"], actor="admin")
    resp = client.post("/api/v1/events", json=event, headers={"X-API-Key": read_key})
    assert resp.status_code == 403 and "events:write" in resp.get_json()["error"]
    resp = client.post(
        "/api/v1/events", json=event, headers={"Authorization": f"Bearer {write_key}"}
    )
    assert resp.status_code in (200, 201, 202), resp.get_data(as_text=True)
    assert client.get("/api/v1/events/api-1", headers={"X-API-Key": write_key}).status_code == 403
    assert client.get("/api/v1/events/api-1", headers={"X-API-Key": read_key}).status_code == 200
    revoke_api_key(writer.id, actor="admin")
    resp = client.post(
        "/api/v1/events",
        json=web_seed.shipment("api-2"),
        headers={"Authorization": f"Bearer {write_key}"},
    )
    assert resp.status_code == 401
    # The schema stays public.
    assert client.get("/api/v1/schema").status_code == 200


def test_a_session_does_not_open_the_api(app, login_as) -> None:
    client = app.test_client()
    login_as(client, "admin")
    assert client.get("/api/v1/events/x").status_code == 401


def test_admin_page_shows_the_key_once(app, login_as) -> None:
    from web.auth.apikeys import hash_key, list_api_keys

    client = app.test_client()
    login_as(client, "admin")
    html = client.get("/admin/apikeys").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post(
        "/admin/apikeys",
        data={"csrf_token": token, "name": "erp", "scopes": ["events:read", "events:write"]},
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    key = re.search(r"(sk_[A-Za-z0-9_\-]+)", resp.get_data(as_text=True)).group(1)
    (row,) = list_api_keys()
    assert row.key_hash == hash_key(key) and row.scopes == ["events:read", "events:write"]
    assert key not in client.get("/admin/apikeys").get_data(as_text=True)
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 404
    client.post(f"/admin/apikeys/{row.id}/revoke", data={"csrf_token": token})
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 401


def test_cli_create_list_revoke(app) -> None:
    from sanctions_cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["apikeys", "create", "ais-feed", "--scope", "events:write"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("sk_")
    client = app.test_client()
    assert client.post(
        "/api/v1/events", json=web_seed.shipment("cli-1"), headers={"X-API-Key": key}
    ).status_code in (200, 201, 202)
    listing = runner.invoke(main, ["apikeys", "list"])
    assert "ais-feed" in listing.output and key not in listing.output and "active" in listing.output
    key_id = listing.output.split()[0]
    assert runner.invoke(main, ["apikeys", "revoke", key_id]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["apikeys", "list"]).output
    assert (
        client.post(
            "/api/v1/events", json=web_seed.shipment("cli-2"), headers={"X-API-Key": key}
        ).status_code
        == 401
    )
    assert runner.invoke(main, ["apikeys", "revoke", key_id]).exit_code != 0


def test_cli_users(app) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import UserRow
    from sanctions_cli import main

    runner = CliRunner()
    result = runner.invoke(
        main,
        ["users", "create", "vera", "--role", "senior_officer"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        runner.invoke(
            main, ["users", "create", "vera", "--role", "officer", "--password", "another password"]
        ).exit_code
        != 0
    )
    assert (
        runner.invoke(
            main, ["users", "create", "x", "--role", "officer", "--password", "short"]
        ).exit_code
        != 0
    )
    listing = runner.invoke(main, ["users", "list"]).output
    assert "vera" in listing and "senior_officer" in listing and "active" in listing
    assert runner.invoke(main, ["users", "disable", "vera"]).exit_code == 0
    with session_scope() as s:
        assert s.scalar(select(UserRow.active).where(UserRow.username == "vera")) is False
    assert runner.invoke(main, ["users", "disable", "nobody"]).exit_code != 0

"""POST/GET /api/v1/exemptions and approval with a second key (scopes registers:*)."""

from __future__ import annotations

import pytest
from registers_support import HUMANITARIAN, auth, keys

BASE = "/api/v1/exemptions"
REF = HUMANITARIAN["ref"]


@pytest.fixture
def app_client(db):
    from web import create_app

    return create_app({"TESTING": True, "SANCTIONS_API_KEY_CACHE_TTL": 0}).test_client()


def test_record_then_approve_with_a_second_key(app_client) -> None:
    maker, checker = keys("registers:write"), keys("registers:approve")
    made = app_client.post(BASE, json=HUMANITARIAN, headers=auth(maker))
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["status"] == "pending" and body["created_by"].startswith("apikey:registers:write#")
    assert body["holder"] == HUMANITARIAN["holder"] and body["goods"][0]["hs"] == ["8438"]
    # the maker's key has no approve scope; the checker's key cannot record entries
    assert app_client.post(f"{BASE}/{REF}/approve", headers=auth(maker)).status_code == 403
    other = dict(HUMANITARIAN, ref="X-2")
    assert app_client.post(BASE, json=other, headers=auth(checker)).status_code == 403
    ok = app_client.post(f"{BASE}/{REF}/approve", headers=auth(checker))
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["status"] == "approved"
    assert ok.get_json()["approved_by"].startswith("apikey:registers:approve#")
    again = app_client.post(f"{BASE}/{REF}/approve", headers=auth(checker))
    assert again.status_code == 409


def test_the_creating_key_can_never_approve(app_client) -> None:
    both = keys("registers:write", "registers:approve")
    assert app_client.post(BASE, json=HUMANITARIAN, headers=auth(both)).status_code == 201
    refused = app_client.post(f"{BASE}/{REF}/approve", headers=auth(both))
    assert refused.status_code == 403
    assert "cannot also approve" in refused.get_json()["error"]
    listed = app_client.get(f"{BASE}?status=pending", headers=auth(both)).get_json()
    assert [e["ref"] for e in listed["entries"]] == [REF]


def test_reading_needs_a_registers_scope(app_client) -> None:
    reader, events = keys("registers:read"), keys("events:read", "events:write")
    maker = keys("registers:write")
    app_client.post(BASE, json=HUMANITARIAN, headers=auth(maker))
    assert app_client.get(BASE, headers=auth(events)).status_code == 403
    assert app_client.get(BASE).status_code == 401
    listed = app_client.get(BASE, headers=auth(reader))
    assert listed.status_code == 200 and listed.get_json()["version"] == 1
    one = app_client.get(f"{BASE}/{REF}", headers=auth(reader)).get_json()
    assert one["ref"] == REF and [h["action"] for h in one["history"]] == ["create"]
    assert app_client.get(f"{BASE}/NOPE", headers=auth(reader)).status_code == 404
    assert app_client.post(BASE, json=HUMANITARIAN, headers=auth(reader)).status_code == 403


def test_versions_and_revocation(app_client) -> None:
    maker, checker = keys("registers:write"), keys("registers:approve")
    app_client.post(BASE, json=HUMANITARIAN, headers=auth(maker))
    app_client.post(f"{BASE}/{REF}/approve", headers=auth(checker))
    no_reason = app_client.post(f"{BASE}/{REF}/revoke", json={}, headers=auth(maker))
    assert no_reason.status_code == 422
    gone = app_client.post(
        f"{BASE}/{REF}/revoke", json={"reason": "withdrawn"}, headers=auth(maker)
    )
    assert gone.status_code == 200 and gone.get_json()["version"] == 3
    at2 = app_client.get(f"{BASE}/{REF}?version=2", headers=auth(maker)).get_json()
    now = app_client.get(f"{BASE}/{REF}", headers=auth(maker)).get_json()
    assert (at2["status"], now["status"]) == ("approved", "revoked")
    assert [h["version"] for h in now["history"]] == [1, 2, 3]
    assert app_client.get(f"{BASE}/{REF}?version=9", headers=auth(maker)).status_code == 404


def test_bad_bodies(app_client) -> None:
    maker = keys("registers:write")
    bad = dict(HUMANITARIAN, destination="QQ", valid_to="2023-01-01")
    resp = app_client.post(BASE, json=bad, headers=auth(maker))
    assert resp.status_code == 422
    pointers = {e["pointer"] for e in resp.get_json()["errors"]}
    assert "/destination" in pointers
    assert app_client.post(BASE, data="nope", headers=auth(maker)).status_code == 400
    assert app_client.post(BASE, json=[HUMANITARIAN], headers=auth(maker)).status_code == 400
    assert app_client.post(BASE, json=HUMANITARIAN, headers=auth(maker)).status_code == 201
    assert app_client.post(BASE, json=HUMANITARIAN, headers=auth(maker)).status_code == 409


def test_every_register_route_refuses_keys_without_its_scope(app_client) -> None:
    app = app_client.application
    needs = {
        "registers_api.create": "registers:write",
        "registers_api.revoke": "registers:write",
        "registers_api.approve": "registers:approve",
        "registers_api.index": "registers:read",
        "registers_api.show": "registers:read",
    }
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("registers_api.")]
    assert {r.endpoint for r in routes} == set(needs)
    all_scopes = (
        "registers:read",
        "registers:write",
        "registers:approve",
        "events:read",
        "events:write",
    )
    for rule in routes:
        url = rule.rule.replace("<path:ref>", "SCOPE-WALK")
        method = "GET" if "GET" in rule.methods else "POST"
        for scope in all_scopes:
            key = keys(scope)
            resp = app_client.open(url, method=method, json={}, headers=auth(key))
            allowed = scope == needs[rule.endpoint] or (
                needs[rule.endpoint] == "registers:read" and scope.startswith("registers:")
            )
            if allowed:
                assert resp.status_code not in (401, 403), (rule.endpoint, scope, resp.status_code)
            else:
                assert resp.status_code == 403, (rule.endpoint, scope, resp.status_code)
        assert app_client.open(url, method=method).status_code == 401

"""Every route of the app, with every role and anonymously: the server enforces the allowed set.

EXPECTED must name every endpoint of ``app.url_map``: a new route without an entry fails here.
"""

from __future__ import annotations

import pytest
import web_seed
from werkzeug.routing import Rule

ROLES = ("officer", "senior_officer", "auditor", "admin")
ALL = frozenset(ROLES)
REVIEW = frozenset({"officer", "senior_officer"})
PUBLIC = "public"  # anyone, logged in or not
API_READ = "api:events:read"  # an API key with this scope; sessions do not count
API_WRITE = "api:events:write"

# endpoint -> {method: allowed roles | PUBLIC | API_*}
EXPECTED: dict[str, dict[str, object]] = {
    "static": {"GET": PUBLIC},
    "healthz": {"GET": PUBLIC},
    # probes (web.health): /readyz for load balancers; /metrics for loopback or a bearer token
    # (the test client is loopback), never a session or login
    "health.readyz": {"GET": PUBLIC},
    "health.metrics": {"GET": PUBLIC},
    "auth.login": {"GET": PUBLIC, "POST": PUBLIC},
    "auth.logout": {"POST": ALL},
    "auth.change_password": {"GET": ALL, "POST": ALL},
    "alerts.home": {"GET": ALL},
    "alerts.queue": {"GET": ALL},
    "alerts.export_csv": {"GET": ALL},
    "alerts.detail": {"GET": ALL},
    # the vessel page (web.vessels_views): readers; an unknown vessel is a 404 after the role check
    "vessels.find": {"GET": ALL},
    "vessels.page": {"GET": ALL},
    "desk.assign": {"POST": REVIEW},
    "desk.start_review": {"POST": REVIEW},
    "desk.escalate": {"POST": REVIEW},
    "desk.close": {"POST": REVIEW},
    "desk.decide": {"POST": frozenset({"senior_officer"})},
    "desk.reopen": {"POST": REVIEW},
    "desk.add_note": {"POST": REVIEW},
    "desk.bulk_confirm": {"GET": REVIEW},
    "desk.bulk_apply": {"POST": REVIEW},
    "desk.audit_log": {"GET": frozenset({"auditor", "admin", "senior_officer"})},
    "desk.audit_csv": {"GET": frozenset({"auditor", "admin"})},
    "desk.audit_jsonl": {"GET": frozenset({"auditor", "admin"})},
    # cases (issue 14): every role reads; officers close, merge and split
    "cases.queue": {"GET": ALL},
    "cases.detail": {"GET": ALL},
    "cases.close_case": {"POST": REVIEW},
    "cases.merge_case": {"POST": REVIEW},
    "cases.split_case": {"POST": REVIEW},
    # known false positives: every role reads; senior officers record, approve (four eyes), revoke
    "allowlist.index": {"GET": ALL},
    "allowlist.detail": {"GET": ALL},
    "allowlist.create": {"POST": frozenset({"senior_officer"})},
    "allowlist.approve": {"POST": frozenset({"senior_officer"})},
    "allowlist.revoke": {"POST": frozenset({"senior_officer"})},
    # approval routing (issue 14): every role reads the inboxes; seniors mark themselves away,
    # admins anyone (a senior marking another is refused: tests/web/test_approval_routing.py)
    "approvals.index": {"GET": ALL},
    "approvals.inbox": {"GET": ALL},
    "approvals.set_away": {"POST": frozenset({"senior_officer", "admin"})},
    "snoozes.index": {"GET": ALL},
    "snoozes.new": {"GET": frozenset({"senior_officer"})},
    "snoozes.create": {"POST": frozenset({"senior_officer"})},
    "snoozes.lift": {"POST": frozenset({"officer", "senior_officer"})},
    "dashboard.dashboard": {"GET": ALL},
    "admin.users": {"GET": frozenset({"admin"})},
    "admin.users_create": {"POST": frozenset({"admin"})},
    "admin.users_active": {"POST": frozenset({"admin"})},
    "admin.users_role": {"POST": frozenset({"admin"})},
    "admin.apikeys": {"GET": frozenset({"admin"})},
    "admin.apikeys_create": {"POST": frozenset({"admin"})},
    "admin.apikeys_revoke": {"POST": frozenset({"admin"})},
    "admin.settings": {"GET": frozenset({"admin"})},
    # notifications (web.notify_views): admins only
    "notify.webhooks": {"GET": frozenset({"admin"})},
    "notify.webhooks_create": {"POST": frozenset({"admin"})},
    "notify.webhook": {"GET": frozenset({"admin"})},
    "notify.webhook_update": {"POST": frozenset({"admin"})},
    "notify.webhook_rotate": {"POST": frozenset({"admin"})},
    "notify.webhook_test": {"POST": frozenset({"admin"})},
    "notify.webhook_deliveries": {"GET": frozenset({"admin"})},
    "notify.delivery": {"GET": frozenset({"admin"})},
    "notify.delivery_redeliver": {"POST": frozenset({"admin"})},
    "notify.email_settings": {"GET": frozenset({"admin"})},
    "notify.email_routes": {"POST": frozenset({"admin"})},
    "notify.email_address": {"POST": frozenset({"admin"})},
    # Measures (rule-pack area) and UN list pages (screening area): every logged-in role reads them.
    "rules.index": {"GET": ALL},
    "rules.detail": {"GET": ALL},
    "lists.index": {"GET": ALL},
    "lists.snapshot": {"GET": ALL},
    "lists.diff": {"GET": ALL},
    "lists.entry": {"GET": ALL},
    # Replays (engine.pipeline.replay_tasks): request one and read results; the request changes no alert.
    "replays.index": {"GET": frozenset({"auditor", "senior_officer", "admin"})},
    "replays.request_replay": {"POST": frozenset({"auditor", "senior_officer", "admin"})},
    # Exemption / notification registers: every role reads; officers record and revoke; a
    # senior officer approves (never their own entry: tests/test_registers_web.py).
    "registers.index": {"GET": ALL},
    "registers.new": {"GET": REVIEW},
    "registers.create": {"POST": REVIEW},
    "registers.detail": {"GET": ALL},
    "registers.approve": {"POST": frozenset({"senior_officer"})},
    "registers.revoke": {"POST": REVIEW},
    # ... and their API, by key scope (tests/test_registers_api.py checks each scope)
    "registers_api.create": {"POST": "api:registers:write"},
    "registers_api.index": {"GET": "api:registers:read"},
    "registers_api.show": {"GET": "api:registers:read"},
    "registers_api.approve": {"POST": "api:registers:approve"},
    "registers_api.revoke": {"POST": "api:registers:write"},
    # auditors (web.audit_views): period replays and audit-pack exports as background jobs; the
    # journal's public key is public (anyone verifying a pack needs it)
    "audit.public_key": {"GET": PUBLIC},
    "audit.index": {"GET": frozenset({"auditor", "admin"})},
    "audit.start_replay": {"POST": frozenset({"auditor", "admin"})},
    "audit.start_export": {"POST": frozenset({"auditor", "admin"})},
    "audit.job": {"GET": frozenset({"auditor", "admin"})},
    "audit.job_csv": {"GET": frozenset({"auditor", "admin"})},
    "audit.job_pack": {"GET": frozenset({"auditor", "admin"})},
    "api.post_events": {"POST": API_WRITE},
    "api.post_ais": {"POST": API_WRITE},
    "api.get_event": {"GET": API_READ},
    "api.get_schema": {"GET": PUBLIC},
    "api.get_openapi": {"GET": PUBLIC},
}

# Form data that lets an allowed request get past input checks (the outcome may still be a
# refused transition: that is a 303 with a message, not an authorisation failure).
FORMS = {
    "auth.login": {"username": "nobody", "password": "wrong-password"},
    "desk.assign": {"to": "me"},
    "desk.escalate": {"note": "route walk"},
    "desk.close": {"resolution": "duplicate", "note": "route walk"},
    "desk.decide": {"decision": "reject", "note": "route walk"},
    "desk.reopen": {"note": "route walk"},
    "auth.change_password": {"current": "wrong", "new": "x", "repeat": "y"},
    "cases.close_case": {"resolution": "true_positive", "note": "route walk"},
    "cases.merge_case": {"into": "999999", "note": "route walk"},
    "cases.split_case": {"note": "route walk"},
    "approvals.set_away": {"away": "0"},
    "desk.add_note": {"kind": "comment", "body": "route walk"},
    "desk.bulk_confirm": {"action": "assign", "assign_to": "me"},
    "desk.bulk_apply": {"action": "assign", "assign_to": "", "alert_id": "1"},
    "admin.users_create": {"username": "walker", "password": "route-walk-pass", "role": "auditor"},
    "admin.users_active": {"active": "1"},
    "admin.users_role": {"role": "auditor"},
    "admin.apikeys_create": {"name": "walk", "scopes": "events:read"},
    # an unknown event: refused with a message (303) after the role check, and nothing is queued
    "replays.request_replay": {"event_id": "walk-no-such-event"},
}


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture
def walk(db, login_as, broker_url):
    from web import create_app
    from web.auth.apikeys import create_api_key

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    alert_id = web_seed.najin_dunay()
    _, read_key = create_api_key("reader", ["events:read"], actor="pytest")
    _, write_key = create_api_key("writer", ["events:write"], actor="pytest")
    target, _ = create_api_key("target", ["events:read"], actor="pytest")
    login_as(app.test_client(), "auditor", "target_user")
    samples = {
        "alert_id": alert_id,
        "key_id": target.id,
        "username": "target_user",
        "filename": "desk.css",
        "event_id": web_seed.NAJIN_DUNAY["event_id"],
        "rule_id": "UNSCR-1718-OP8b",
    }
    FORMS["desk.bulk_apply"]["alert_id"] = str(alert_id)
    return app, samples, {"read": read_key, "write": write_key}, login_as


def _url(app, rule: Rule, samples: dict) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        values[arg] = samples.get(arg, 1 if type(converter).__name__ == "IntegerConverter" else "x")
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_route_has_an_expected_entry(walk) -> None:
    app, *_ = walk
    routes = {(r.endpoint, m) for r in app.url_map.iter_rules() for m in _methods(r)}
    expected = {(ep, m) for ep, methods in EXPECTED.items() for m in methods}
    # (Entries for routes another area has not registered yet are harmless.)
    missing = sorted(routes - expected)
    assert not missing, f"routes without an entry in EXPECTED (add who may call them): {missing}"


def test_nothing_can_be_deleted(walk) -> None:
    app, *_ = walk
    for rule in app.url_map.iter_rules():
        assert not (rule.methods & {"DELETE", "PUT", "PATCH"}), rule


def _call(client, method: str, url: str, endpoint: str, headers: dict | None = None):
    if method == "GET":
        return client.get(url, headers=headers)
    if endpoint.startswith("api."):
        return client.post(url, json=dict(web_seed.NAJIN_DUNAY, event_id="walk-1"), headers=headers)
    return client.post(url, data=FORMS.get(endpoint, {}), headers=headers)


def _is_login_redirect(resp) -> bool:
    # The login wall always says where to come back to; a logout redirect does not.
    return resp.status_code in (302, 303) and "/login?next=" in resp.headers.get("Location", "")


@pytest.mark.parametrize("principal", ["anonymous", *ROLES])
def test_role_matrix(walk, principal: str) -> None:
    app, samples, _keys, login_as = walk
    checked = 0
    for rule in app.url_map.iter_rules():
        for method in _methods(rule):
            if method not in EXPECTED.get(rule.endpoint, {}):
                continue  # reported by test_every_route_has_an_expected_entry
            allowed = EXPECTED[rule.endpoint][method]
            url = _url(app, rule, samples)
            client = app.test_client()
            if principal != "anonymous":
                login_as(client, principal)
            resp = _call(client, method, url, rule.endpoint)
            where = f"{principal} {method} {url} -> {resp.status_code}"
            assert resp.status_code < 500, where
            if allowed == PUBLIC:
                assert resp.status_code not in (401, 403) and not _is_login_redirect(resp), where
            elif isinstance(allowed, str):  # API: a session never opens it
                assert resp.status_code == 401, where
            elif principal == "anonymous":
                assert _is_login_redirect(resp), where
            elif principal in allowed:
                assert resp.status_code not in (401, 403) and not _is_login_redirect(resp), where
            else:
                assert resp.status_code == 403, where
            checked += 1
    assert checked >= len(EXPECTED)


def test_api_routes_need_the_right_scope(walk) -> None:
    app, samples, keys, _ = walk
    for rule in app.url_map.iter_rules():
        for method in _methods(rule):
            allowed = EXPECTED.get(rule.endpoint, {}).get(method)
            if allowed not in (API_READ, API_WRITE):
                continue
            url = _url(app, rule, samples)
            good = keys["read"] if allowed == API_READ else keys["write"]
            wrong = keys["write"] if allowed == API_READ else keys["read"]
            client = app.test_client()
            resp = _call(client, method, url, rule.endpoint, {"Authorization": f"Bearer {good}"})
            assert resp.status_code not in (401, 403), (method, url, resp.status_code)
            resp = _call(client, method, url, rule.endpoint, {"X-API-Key": wrong})
            assert resp.status_code == 403, (method, url, resp.status_code)
            resp = _call(
                client, method, url, rule.endpoint, {"Authorization": "Bearer sk_not-a-key"}
            )
            assert resp.status_code == 401, (method, url, resp.status_code)

"""Security holes found by a probe (issue 9), each with the test that would have caught it:
open redirect after login, sessions that outlive logout, API keys that outlive revocation, a racy
login rate limit, cacheable API and CSV answers, the ``Server`` header, HSTS over https."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import web_seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True})  # CSRF on


def _csrf(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"{path} has no CSRF token"
    return match.group(1)


def _login(client, username: str, password: str, **data: str):
    form = {"username": username, "password": password, "csrf_token": _csrf(client), **data}
    return client.post("/login", data=form)


# -- open redirect ---------------------------------------------------------------------------

BYPASSES = [
    "https://evil.example/x",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\u200b/evil.example",
    "/\u3000/evil.example",
    " //evil.example",
    "\t//evil.example",
    "http:/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/%0a/evil.example\r\nSet-Cookie: x=1",
    "evil.example",
    "@evil.example",
]


def _browser_resolves(location: str, base: str = "http://localhost/login") -> str:
    """Where a WHATWG browser goes: tabs/newlines removed, C0 and spaces trimmed, \\ read as /."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08"
        "\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14"
        "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
        "\x1e\x1f "
    )
    return urljoin(base, cleaned.replace("\\", "/"))


@pytest.mark.parametrize("target", BYPASSES)
def test_login_never_redirects_off_site(app, target: str) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "auditor")
    resp = _login(app.test_client(), "olga", "correct horse battery", next=target)
    assert resp.status_code == 302, resp.status_code
    location = resp.headers["Location"]
    assert urlsplit(_browser_resolves(location)).netloc == "localhost", location
    assert "\n" not in location and "\r" not in location


@pytest.mark.parametrize(
    "target", ["/dashboard", "/alerts?status=open&regime=dprk", "/lists/entry/KPe.047"]
)
def test_login_keeps_a_same_site_next(app, target: str) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "auditor")
    resp = _login(app.test_client(), "olga", "correct horse battery", next=target)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(target)


def test_the_login_wall_round_trip_keeps_the_page(app) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "auditor")
    client = app.test_client()
    wall = client.get("/alerts?status=open")
    next_url = wall.headers["Location"].split("next=", 1)[1]
    from urllib.parse import unquote

    resp = _login(client, "olga", "correct horse battery", next=unquote(next_url))
    assert resp.headers["Location"].endswith("/alerts?status=open")


# -- sessions end on the server --------------------------------------------------------------


def _copied_cookie_after(app, change) -> int:
    """Log in, copy the session cookie, apply ``change(client)``, replay the copy elsewhere."""
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "officer")
    client = app.test_client()
    assert _login(client, "olga", "correct horse battery").status_code == 302
    cookie = client.get_cookie("sanctions_session")
    assert cookie is not None
    assert client.get("/alerts").status_code == 200
    change(client)
    thief = app.test_client()
    thief.set_cookie("sanctions_session", cookie.value, domain="localhost")
    return thief.get("/alerts").status_code


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app) -> None:
    def logout(client) -> None:
        assert (
            client.post("/logout", data={"csrf_token": _csrf(client, "/alerts")}).status_code == 302
        )

    assert _copied_cookie_after(app, logout) == 302  # back to the login page


@pytest.mark.parametrize("change", ["password", "disable", "role"])
def test_account_changes_end_every_session(app, change: str) -> None:
    from web.auth.accounts import set_active, set_password, set_role

    def apply(_client) -> None:
        if change == "password":
            set_password("olga", "a brand new password", actor="admin")
        elif change == "disable":
            set_active("olga", False, actor="admin")
        else:
            set_role("olga", "auditor", actor="admin")

    assert _copied_cookie_after(app, apply) == 302


def test_a_session_cookie_without_its_row_is_refused(app) -> None:
    """A cookie signed with the right key but naming no server-side session opens nothing."""
    from web.auth.accounts import create_user

    user = create_user("olga", "correct horse battery", "admin")
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["uid"] = user.id  # the pre-issue-9 cookie content
        sess["role"] = "admin"
    assert client.get("/admin/users").status_code == 302
    with client.session_transaction() as sess:
        sess["sid"] = "made-up-token"
    assert client.get("/admin/users").status_code == 302


# -- API keys: revocation is immediate in every process ------------------------------------------


def test_revocation_by_another_process_is_effective_at_once(db, broker_url) -> None:
    from web import create_app
    from web.auth.apikeys import create_api_key

    client = create_app({"TESTING": True, "SANCTIONS_API_KEY_CACHE_TTL": 3600}).test_client()
    row, key = create_api_key("feed", ["events:read"], actor="admin")
    headers = {"X-API-Key": key}
    for _ in range(3):  # verified once, then served from this process's cache
        assert client.get("/api/v1/events/none", headers=headers).status_code == 404
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "sanctions"), "apikeys", "revoke", str(row.id)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    # No wait: the very next request is refused.
    assert client.get("/api/v1/events/none", headers=headers).status_code == 401


def test_without_redis_every_request_asks_the_database(db) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from engine.storage.db import session_scope
    from engine.storage.desk_tables import ApiKeyRow
    from web import create_app
    from web.auth.apikeys import create_api_key

    app = create_app(
        {
            "TESTING": True,
            "SANCTIONS_API_KEY_CACHE_TTL": 3600,
            "SANCTIONS_BROKER_URL": "redis://127.0.0.1:9/0",  # discard port: nothing listens
        }
    )
    client = app.test_client()
    row, key = create_api_key("feed", ["events:read"], actor="admin")
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 404
    with session_scope() as s:  # revoked behind everyone's back, and no counter to bump
        s.execute(
            update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(revoked_at=datetime.now(UTC))
        )
    assert client.get("/api/v1/events/none", headers={"X-API-Key": key}).status_code == 401


# -- the login rate limit is atomic ----------------------------------------------------------


def test_fifty_concurrent_wrong_attempts_get_at_most_five_checks(db) -> None:
    from web.auth import accounts

    accounts.create_user("olga", "correct horse battery", "officer")
    checks = []
    real_check = accounts.check_password_hash

    def counting_check(*args, **kwargs):
        checks.append(1)
        return real_check(*args, **kwargs)

    accounts.check_password_hash = counting_check
    start = threading.Barrier(50)
    results = []

    errors = []

    def attempt() -> None:
        start.wait()
        try:
            results.append(accounts.authenticate("olga", "wrong password!!", "10.9.9.9"))
        except Exception as exc:
            errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=attempt) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[:3]
        assert len(results) == 50
        # At most the limit got a check (fewer, even none, when attempts overlapped so that each
        # counted more than the limit): the old check-then-insert gave 6.
        assert len(checks) <= accounts.MAX_FAILURES, len(checks)
        assert sum(not r.blocked for r in results) == len(checks)
        # Attempts one after the other use up the rest of the limit, never more.
        for _ in range(10):
            accounts.authenticate("olga", "wrong password!!", "10.9.9.9")
        assert len(checks) == accounts.MAX_FAILURES
    finally:
        accounts.check_password_hash = real_check
    # and the right password is blocked too now
    assert accounts.authenticate("olga", "correct horse battery", "10.9.9.9").blocked


# -- headers ---------------------------------------------------------------------------------


def test_nothing_but_static_files_may_be_cached(db, api_client, login_as) -> None:
    from web import create_app

    web_seed.najin_dunay()
    app = create_app({"TESTING": True})
    client = app.test_client()
    login_as(client, "auditor")
    answers = {
        "page": client.get("/alerts"),
        "csv": client.get("/alerts.csv"),
        "login": app.test_client().get("/login"),
        "api": api_client.get(f"/api/v1/events/{web_seed.NAJIN_DUNAY['event_id']}"),
        "api error": api_client.post("/api/v1/events", data=b"{", content_type="application/json"),
        "schema": api_client.get("/api/v1/schema"),
    }
    for what, resp in answers.items():
        assert resp.status_code < 500, what
        assert resp.headers.get("Cache-Control") == "no-store", (what, resp.headers)
    static = client.get("/static/desk.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_hsts_only_over_https(db) -> None:
    from web import create_app

    app = create_app({"TESTING": True})
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers
    secure = app.test_client().get("/healthz", base_url="https://sanctions.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_sends_no_server_header(db) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "python:web.gunicorn_conf",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "web:create_app()",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        resp = None
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "gunicorn exited"
                time.sleep(0.2)
        assert resp is not None and resp.status_code == 200
        assert "server" not in {k.lower() for k in resp.headers}, dict(resp.headers)
        assert resp.headers["Cache-Control"] == "no-store"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_workers_run_the_collector_less_often() -> None:
    """web.gunicorn_conf's post_fork gives each web worker engine.gc_tuning's thresholds (in a
    fresh interpreter: this test process keeps its own)."""
    from engine.gc_tuning import GC_THRESHOLDS

    code = (
        "import gc\n"
        "from web import gunicorn_conf\n"
        "own = gc.get_threshold()\n"
        "gunicorn_conf.post_fork(None, None)\n"
        "print(own, gc.get_threshold(), sep='|')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True,
        text=True, timeout=60, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    assert out == f"(700, 10, 10)|{GC_THRESHOLDS}"

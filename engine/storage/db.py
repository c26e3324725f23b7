"""Database engine, sessions and migrations (SQLite WAL by default, PostgreSQL by DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from engine.config import PROJECT_ROOT, Settings, get_settings


def _make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return eng

    eng = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if settings.db_schema:
        schema = settings.db_schema

        @event.listens_for(eng, "connect")
        def _search_path(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cur.execute(f'SET search_path TO "{schema}"')
            cur.close()
            dbapi_conn.commit()

    return eng


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return _make_engine(get_settings())


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engine() -> None:
    """Forget the cached engine (tests switch databases; forked workers need fresh pools)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return cfg


def migrate() -> None:
    """Bring the schema to the newest revision of every branch (each area has its own branch)."""
    from alembic import command

    command.upgrade(alembic_config(), "heads")


def dialect_name() -> str:
    return get_engine().dialect.name


def ping() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))

"""Alembic environment: uses the application's engine so migrations see the same settings."""

from __future__ import annotations

from alembic import context

import engine.storage.all_tables  # noqa: F401 - registers every table on Base.metadata
from engine.storage.base import Base
from engine.storage.db import get_engine

target_metadata = Base.metadata


def run_migrations_online() -> None:
    with get_engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()

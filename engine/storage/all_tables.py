"""Import every table module so Base.metadata is complete (Alembic, tests, clear_all)."""

from __future__ import annotations

from sqlalchemy import delete

from engine.ais import tables as ais_tables  # noqa: F401
from engine.allowlist import tables as allowlist_tables  # noqa: F401
from engine.approvals import tables as approval_tables  # noqa: F401
from engine.audit import tables as audit_tables  # noqa: F401
from engine.cases import change_tables as case_change_tables  # noqa: F401
from engine.cases import tables as case_tables  # noqa: F401
from engine.lists import tables as lists_tables  # noqa: F401
from engine.notify import tables as notify_tables  # noqa: F401
from engine.registers import tables as register_tables  # noqa: F401
from engine.snoozes import tables as snooze_tables  # noqa: F401
from engine.storage import (
    desk_tables,  # noqa: F401
    replay_tables,  # noqa: F401
    session_tables,  # noqa: F401
    tables,  # noqa: F401
)
from engine.storage.base import Base
from engine.vessels import tables as vessel_tables  # noqa: F401


def clear_all() -> None:
    """Delete every row of every table, children first (tests only; production never deletes)."""
    from engine.storage.db import get_engine

    with get_engine().begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))

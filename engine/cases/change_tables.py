"""``case_changes`` (migration 1511_case_changes, branch i15): the append-only history of each
case, written in the transaction of every change (opened, occurrence absorbed, synced, closed,
merged, split). ``state`` is the case's mutable fields after the change, and the alerts and case
events that (re)joined the case with it; the audit journal hashes each change, and a state
check holds the case as it stands to its newest change (engine.cases.journal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, JSONType, utcnow


class CaseChangeRow(Base):
    __tablename__ = "case_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)

    __table_args__ = (Index("ix_case_changes_case", "case_id", "id"),)

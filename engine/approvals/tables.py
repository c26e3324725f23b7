"""Tables of approval routing (migration 1420_approval_routes, branch i14b).

``approval_routes``: one row per four-eyes request (a critical alert's closure, an allowlist
entry), saying who may decide it: ``routed_to`` a named senior officer, or the pool (NULL, or
``pooled_at`` set once a named route fell back). ``senior_away``: seniors marked away; their
routed requests go to the pool while they are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.base import Base, utcnow

KINDS = ("closure", "allowlist")


class ApprovalRouteRow(Base):
    __tablename__ = "approval_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # closure: ref_id is closure_approvals.id (alert_id says which alert); allowlist: the entry id
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    ref_id: Mapped[int] = mapped_column(Integer, nullable=False)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(100), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    routed_to: Mapped[str | None] = mapped_column(String(100))  # None: the pool from the start
    pooled_at: Mapped[datetime | None] = mapped_column()  # a named route fell back to the pool
    pooled_why: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_approval_routes_ref", "kind", "ref_id"),
        Index("ix_approval_routes_open", "decided_at", "routed_to"),
    )


class SeniorAwayRow(Base):
    __tablename__ = "senior_away"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    set_by: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)

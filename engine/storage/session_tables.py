"""Server-side login sessions: the cookie carries only a random token, the row says whether it
still counts. Logout ends one row; disabling a user, changing their role or password ends all of
theirs, so a cookie copied before any of these stops working at once (not after 8 hours)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage import desk_tables as _desk  # noqa: F401 - registers `users`, our FK target
from engine.storage.base import Base, utcnow


class LoginSessionRow(Base):
    __tablename__ = "login_sessions"

    # sha256 of the token in the cookie: a leaked table does not hand out live sessions.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)  # the role at login
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_reason: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_login_sessions_user_id", "user_id"),)

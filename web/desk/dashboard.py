"""Dashboard: open alerts by regime and severity, alerts per week (inline SVG), time to close."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models.decisions import SEVERITIES
from engine.storage.db import session_scope
from engine.storage.tables import AlertRow
from web.auth.access import READERS, roles_required
from web.desk.workflow import ACTIVE_STATES

dashboard_bp = Blueprint("dashboard", __name__)

WEEKS = 12


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def week_start(value: datetime) -> datetime:
    value = _aware(value)
    monday = value - timedelta(days=value.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Bar:
    label: str
    count: int
    x: float
    y: float
    height: float


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    bar_width: float
    max_count: int
    baseline: float


def open_by_regime_severity(session: Session) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(AlertRow.regime, AlertRow.severity, func.count())
        .where(AlertRow.status.in_(ACTIVE_STATES))
        .group_by(AlertRow.regime, AlertRow.severity)
    ).all()
    table: dict[str, dict[str, int]] = {}
    for regime, severity, n in rows:
        table.setdefault(regime, dict.fromkeys(SEVERITIES, 0))[severity] = n
    return dict(sorted(table.items()))


def alerts_per_week(
    session: Session, now: datetime, weeks: int = WEEKS
) -> list[tuple[datetime, int]]:
    first = week_start(now) - timedelta(weeks=weeks - 1)
    counts = {first + timedelta(weeks=i): 0 for i in range(weeks)}
    # Bucketed in Python: portable across SQLite and PostgreSQL, and the window is small.
    for created in session.scalars(select(AlertRow.created_at).where(AlertRow.created_at >= first)):
        start = week_start(created)
        if start in counts:
            counts[start] += 1
    return sorted(counts.items())


def median_time_to_close(session: Session) -> timedelta | None:
    rows = session.execute(
        select(AlertRow.created_at, AlertRow.closed_at).where(
            AlertRow.status == "closed", AlertRow.closed_at.is_not(None)
        )
    ).all()
    seconds = [(_aware(c) - _aware(a)).total_seconds() for a, c in rows if c is not None]
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def oldest_open(session: Session) -> AlertRow | None:
    return session.scalar(
        select(AlertRow)
        .where(AlertRow.status.in_(ACTIVE_STATES))
        .order_by(AlertRow.created_at.asc(), AlertRow.id.asc())
        .limit(1)
    )


def bar_chart(series: list[tuple[datetime, int]], width: int = 640, height: int = 220) -> Chart:
    """Geometry for a server-rendered SVG bar chart (no JavaScript, no external assets)."""
    top, bottom = 20, 40
    plot_h = height - top - bottom
    max_count = max((n for _, n in series), default=0)
    slot = width / max(1, len(series))
    bars = []
    for i, (start, n) in enumerate(series):
        h = 0.0 if max_count == 0 else plot_h * n / max_count
        bars.append(
            Bar(
                label=start.strftime("%d %b"),
                count=n,
                x=i * slot + slot * 0.15,
                y=top + plot_h - h,
                height=h,
            )
        )
    return Chart(
        width=width,
        height=height,
        bars=bars,
        bar_width=slot * 0.7,
        max_count=max_count,
        baseline=top + plot_h,
    )


def human(delta: timedelta | None) -> str:
    if delta is None:
        return "no closed alerts yet"
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@dashboard_bp.get("/dashboard")
@roles_required(*READERS)
def dashboard() -> Any:
    now = datetime.now(UTC)
    with session_scope() as s:
        table = open_by_regime_severity(s)
        weekly = alerts_per_week(s, now)
        median = median_time_to_close(s)
        oldest = oldest_open(s)
        total_open = (
            s.scalar(
                select(func.count()).select_from(AlertRow).where(AlertRow.status.in_(ACTIVE_STATES))
            )
            or 0
        )
    totals = {sev: sum(row[sev] for row in table.values()) for sev in SEVERITIES}
    return render_template(
        "desk/dashboard.html",
        table=table,
        totals=totals,
        severities=SEVERITIES,
        chart=bar_chart(weekly),
        weekly_total=sum(n for _, n in weekly),
        median=human(median),
        oldest=oldest,
        oldest_age=human(now - _aware(oldest.created_at)) if oldest else None,
        total_open=total_open,
    )

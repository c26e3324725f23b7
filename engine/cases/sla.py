"""Due times per severity (SANCTIONS_SLA_HOURS, e.g. ``critical=4,high=24``; the rest default)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

DEFAULT_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}


def sla_hours(text: str | None = None) -> dict[str, float]:
    """Hours allowed per severity; a malformed item is ignored (the default stays)."""
    hours: dict[str, float] = {k: float(v) for k, v in DEFAULT_HOURS.items()}
    spec = os.environ.get("SANCTIONS_SLA_HOURS", "") if text is None else text
    for item in spec.split(","):
        name, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            continue
        if name.strip() in hours and number > 0:
            hours[name.strip()] = number
    return hours


def due_at(severity: str, opened_at: datetime, hours: dict[str, float]) -> datetime:
    return opened_at + timedelta(hours=hours.get(severity, DEFAULT_HOURS["low"]))

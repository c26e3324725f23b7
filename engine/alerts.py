"""Alerts: what a decision's violations open for review (one per event and rule).

The one place an alert row is built from a violation, for the live path (a flagged decision,
engine.storage.repository.save_decisions) and for retro-screening (engine.screening.retro) alike,
so both carry the same fields, truncations and citation text; ``open_alerts`` stores them and
files them into cases (engine.cases) in the caller's transaction, for both paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from engine.models.decisions import citation_text as _one_citation

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from engine.cases.filing import Filed

Origin = Literal["live", "retro_screening"]


def citation_text(violation: Mapping[str, Any]) -> str:
    """'UNSCR 2270 (2016) OP6; UNSCR 2321 (2016) OP26' (the alert list's citation column)."""
    cites = [_one_citation(c) for c in violation.get("citations", [])]
    return "; ".join(cites)[:200] or "-"


def alert_rows(
    event_id: str,
    violations: Iterable[Mapping[str, Any]],
    *,
    occurred_at: datetime,
    origin: Origin,
    now: datetime,
    decision_id: int | None = None,
) -> list[dict[str, Any]]:
    """Alert rows (for the alerts table) of one event's violations (JSON form): one per rule,
    the first violation of a rule wins, each opened now."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for v in violations:
        if v["rule_id"] in seen:
            continue
        seen.add(v["rule_id"])
        rows.append(
            {
                "event_id": event_id,
                "decision_id": decision_id,
                "rule_id": v["rule_id"][:100],
                "regime": v["regime"][:50],
                "severity": v["severity"],
                "title": v["title"][:300],
                "citation": citation_text(v),
                "violation": dict(v),
                "origin": origin,
                "status": "open",
                "occurred_at": occurred_at,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def open_alerts(conn: Connection, rows: list[dict[str, Any]]) -> list[Filed]:
    """Insert alert rows (an (event, rule) that has one already is skipped) and file the new ones
    into cases, in the caller's transaction: one case per event, or a linked occurrence of an
    open case about the same vessel, party or list entry. Returns what was filed."""
    from engine.cases.filing import file_alerts
    from engine.notify.events import on_cases_filed
    from engine.storage.repository import insert_alerts

    if not rows:
        return []
    insert_alerts(conn, rows)
    filed = file_alerts(conn, [r["event_id"] for r in rows])
    on_cases_filed(conn, filed)  # a new critical case is told (outbox, same transaction)
    return filed

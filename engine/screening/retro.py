"""Re-screening after a list change: stored entity and shipment events of the last
``retro_months`` months are checked against the designations the new snapshot ADDS (entries whose
DATAID the previous snapshot lacked), and each hit opens an alert with origin='retro_screening'.

Rule id: the rule pack's asset-freeze rule of the regime (e.g. UNSCR-1718-OP8d, UNSCR-2368-OP1a;
see engine.screening.regimes), else ``SCREEN-<regime>``. One alert per (event, rule), unique like
every alert: importing again never duplicates, and an event the live evaluation already alerted
under that rule keeps its one alert.
Delistings close nothing: open alerts show them via engine.lists.store.delistings().
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import and_, select

from engine.lists import store
from engine.lists.diff import ChangeReport
from engine.lists.store import SnapshotInfo
from engine.models.decisions import Evidence, Violation
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.screening.regimes import measure_for
from engine.screening.service import Screener
from engine.screening.settings import get_screening_settings
from engine.storage.db import get_engine
from engine.storage.repository import ALERTS, EVENTS, _citation, insert_alerts

BATCH = 1000


def months_before(when: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier (day clipped to the month's end)."""
    y, m = divmod(when.year * 12 + when.month - 1 - months, 12)
    for day in range(when.day, 27, -1):
        try:
            return when.replace(year=y, month=m + 1, day=day)
        except ValueError:
            continue
    return when.replace(year=y, month=m + 1, day=min(when.day, 28))


def violation_for(regime: str, hits: list[ScreeningHit], info: SnapshotInfo) -> Violation:
    m = measure_for(regime)
    strong = any(h.method != "name_fuzzy" for h in hits)
    refs = ", ".join(sorted({f"{h.reference} {h.entry_name}" for h in hits}))
    cited = "; ".join(str(c) for c in m.citations)
    return Violation(
        rule_id=m.rule_id,
        regime=regime,
        title=f"{m.title} (found by re-screening after a list change)"[:300],
        severity="critical" if strong else "high",
        citations=m.citations,
        evidence=[
            Evidence(
                path=h.path, value=h.model_dump(mode="json", exclude={"path"}), note=h.explanation
            )
            for h in hits
        ],
        reason=(
            f"{refs} was added to the UN {regime} list in the snapshot of "
            f"{info.date_generated:%Y-%m-%d}; this event names it, so the {m.measure}"
            + (f" of {cited}" if cited else "")
            + " applies from the designation on."
            + (f" {m.caveat}" if m.caveat else "")
        ),
        confidence="high" if strong and m.verified else "medium",
    )


def rescreen_after_import(
    info: SnapshotInfo, report: ChangeReport, now: datetime | None = None
) -> tuple[list[ScreeningHit], int]:
    """Re-screen recent events against the entries ``report`` adds; open alerts. Returns the hits
    and the number of alerts opened. Only the newest snapshot re-screens (an old file imported
    late adds nothing new to today's list)."""
    known = store.snapshots()
    if not known or known[-1].id != info.id or not report.added:
        return [], 0
    added = {r.dataid for r in report.added}
    entries = [e for e in store.entries(info.id) if e.dataid in added]
    screener = Screener.from_entries(entries, info.sha256, info.date_generated)
    screener.retro = True
    since = months_before(now or datetime.now(UTC), get_screening_settings().retro_months)
    all_hits: list[ScreeningHit] = []
    opened = 0
    last_id = 0
    while True:
        with get_engine().connect() as conn:
            rows = conn.execute(
                select(EVENTS.c.id, EVENTS.c.event_id, EVENTS.c.raw, EVENTS.c.occurred_at)
                .where(
                    and_(
                        EVENTS.c.id > last_id,
                        EVENTS.c.occurred_at >= since,
                        EVENTS.c.event_type.in_(["entity", "shipment"]),
                    )
                )
                .order_by(EVENTS.c.id)
                .limit(BATCH)
            ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        alerts = []
        now_ts = datetime.now(UTC)
        for _, event_id, raw, occurred_at in rows:
            try:
                event = Event.model_validate(raw)
            except ValidationError:
                continue  # stored events were validated on arrival; a newer contract may differ
            by_regime: dict[str, list[ScreeningHit]] = defaultdict(list)
            for hit in screener.screen(event):
                by_regime[hit.list_regime].append(hit)
            for regime, hits in by_regime.items():
                all_hits += hits
                v = violation_for(regime, hits, info).model_dump(mode="json")
                alerts.append(
                    {
                        "event_id": event_id,
                        "decision_id": None,
                        "rule_id": v["rule_id"],
                        "regime": regime,
                        "severity": v["severity"],
                        "title": v["title"][:300],
                        "citation": _citation(v),
                        "violation": v,
                        "origin": "retro_screening",
                        "status": "open",
                        "occurred_at": occurred_at,
                        "created_at": now_ts,
                        "updated_at": now_ts,
                    }
                )
        if alerts:
            with get_engine().begin() as conn:
                before = _count_retro(conn)
                insert_alerts(conn, alerts)
                opened += _count_retro(conn) - before
    return all_hits, opened


def _count_retro(conn) -> int:  # noqa: ANN001
    from sqlalchemy import func

    return conn.execute(
        select(func.count()).select_from(ALERTS).where(ALERTS.c.origin == "retro_screening")
    ).scalar_one()

"""Re-screening after a list change: what an import newly tells about who was designated when.

After a snapshot is imported, the designation history over all stored snapshots (engine.lists
.history) is compared with the one before the import. Stored entity and shipment events of the
last ``retro_months`` months are re-screened against the entries whose history changed, and a hit
opens an alert (origin='retro_screening') only where the entry is in force on the event's day now
and was not before the import: a new designation, a newly learned earlier listing date, or an
entry an older snapshot imported late shows listed earlier. An old file imported late therefore
re-screens only the days it tells something new about.

Rule id: the rule pack's asset-freeze rule of the regime (e.g. UNSCR-1718-OP8d, UNSCR-2368-OP1a;
see engine.screening.regimes), else ``SCREEN-<regime>``. One alert per (event, rule), unique like
every alert: importing again never duplicates, and an event the live evaluation already alerted
under that rule keeps its one alert.

Known false positives (engine.allowlist) are applied as on the live path: the allowlist in force
when the re-screening runs (read once per run, after the import re-opened the entries of list
entries it amended) sets aside the hits it matches with the same matching (Snapshot.apply); a
re-screened event whose hits are all set aside opens nothing, and each set-aside is recorded as
an audit_log row (action ``retro_allowlisted``, target the event) with the note and the allowlist
version, as a live decision records them; an alert opened on the remaining hits carries the notes
and version in its violation (``allowlist_notes``, ``allowlist_version``).

Snoozes (engine.snoozes) withhold re-screening alerts as they withhold live ones (judged when the
re-screening runs); the withheld event joins the snoozed case.

Delistings close nothing: an entry the new newest snapshot no longer has marks every open alert
that cites it with an evidence note and an audit entry (once per alert and removal), saying
between which snapshots the removal lies; the desk also shows it via store.delistings().
"""

from __future__ import annotations

import typing
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import Connection, Table, Text, and_, cast, select

from engine.alerts import alert_rows, open_alerts
from engine.lists import store
from engine.lists.diff import ChangeReport
from engine.lists.history import DesignationHistory, EntryHistory, SnapshotFile, build_history
from engine.lists.store import SnapshotInfo
from engine.models.decisions import Evidence, Violation
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.screening.designations import DesignationIndex, LazyDesignations
from engine.screening.regimes import measure_for
from engine.screening.service import Screener
from engine.screening.settings import get_screening_settings
from engine.snoozes.matching import attach
from engine.snoozes.matching import current as current_snoozes
from engine.storage.db import get_engine
from engine.storage.repository import ALERTS, EVENTS

if TYPE_CHECKING:
    from engine.allowlist.matching import Snapshot

BATCH = 1000
ACTOR = "system:list-import"
OPEN = ("open", "in_review", "escalated")


def months_before(when: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier (day clipped to the month's end)."""
    y, m = divmod(when.year * 12 + when.month - 1 - months, 12)
    for day in range(when.day, 27, -1):
        try:
            return when.replace(year=y, month=m + 1, day=day)
        except ValueError:
            continue
    return when.replace(year=y, month=m + 1, day=min(when.day, 28))


@dataclass(frozen=True, slots=True)
class Change:
    """An entry whose history an import changed (``before`` None: a reference new to the store)."""

    after: EntryHistory
    before: EntryHistory | None

    def why(self, info: SnapshotInfo) -> str:
        h, ref = self.after, f"{self.after.key} {self.after.entry.name}"
        since = f"listed on {h.start}" if h.start else "listed"
        if self.before is None:
            return f"{ref} ({since}) first appears in the list snapshot of {info.date_generated:%Y-%m-%d}"
        if self.before.start != h.start:
            return (
                f"{ref} is now known to be {since} (previously {self.before.start}), "
                f"from the list snapshot of {info.date_generated:%Y-%m-%d}"
            )
        return (
            f"{ref}: the list snapshot of {info.date_generated:%Y-%m-%d} shows it listed on the day"
        )


@dataclass
class RetroResult:
    hits: list[ScreeningHit] = field(default_factory=list)
    opened: int = 0
    marked: int = 0  # open alerts marked with a delisting
    allowlisted: int = 0  # re-screened events with hits set aside as known false positives


def violation_for(
    regime: str,
    hits: list[ScreeningHit],
    info: SnapshotInfo,
    changes: dict[str, Change] | None = None,
) -> Violation:
    m = measure_for(regime)
    strong = any(h.method != "name_fuzzy" for h in hits)
    windowed = any(h.designation_status != "listed" for h in hits)
    cited = "; ".join(str(c) for c in m.citations)
    why = "; ".join(
        sorted(
            {
                changes[h.reference].why(info)
                if changes and h.reference in changes
                else f"{h.reference} {h.entry_name} was added in the snapshot of "
                f"{info.date_generated:%Y-%m-%d}"
                for h in hits
            }
        )
    )
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
            f"UN {regime} list: {why}; this event names it, so the {m.measure}"
            + (f" of {cited}" if cited else "")
            + " applies from the designation on."
            + (
                " The designation on the event's day is uncertain (see the window)."
                if windowed
                else ""
            )
            + (f" {m.caveat}" if m.caveat else "")
        ),
        confidence="low" if windowed else ("high" if strong and m.verified else "medium"),
    )


def _history(files: list[SnapshotFile]) -> DesignationHistory:
    return build_history(files)


def _key_points(h: EntryHistory) -> tuple:
    return h.start, tuple((p.day, p.present) for p in h.points)


def changes_between(old: DesignationHistory, new: DesignationHistory) -> dict[str, Change]:
    """Entries whose history differs (keyed by reference, as hits name them)."""
    before = old.by_key()
    out = {}
    for h in new.entries:
        o = before.get(h.key)
        if o is None or _key_points(o) != _key_points(h):
            out[h.entry.reference] = Change(h, o)
    return out


def rescreen_after_import(
    info: SnapshotInfo, report: ChangeReport | None = None, now: datetime | None = None
) -> tuple[list[ScreeningHit], int]:
    """Re-screen recent events after ``info`` was imported; open alerts. Returns the hits and
    the number of alerts opened (see after_import for the delisting marks)."""
    result = after_import(info, now, mark=False)
    return result.hits, result.opened


def after_import(info: SnapshotInfo, now: datetime | None = None, mark: bool = True) -> RetroResult:
    """Compare the history with and without ``info``; re-screen what changed, mark delistings.
    The first snapshot ever imported re-screens nothing (there was no list before it)."""
    stored = store.snapshots()
    others = [s for s in stored if s.id != info.id]
    result = RetroResult()
    if not others or len(others) == len(stored):
        return result
    files = {s.id: SnapshotFile(s.sha256, s.date_generated, store.entries(s.id)) for s in stored}
    old = _history([files[s.id] for s in others])
    new = _history(list(files.values()))
    changes = changes_between(old, new)
    if mark:
        result.marked = mark_delistings(old, new)
    if changes:
        result.hits, result.opened, result.allowlisted = _rescreen(info, new, changes, now)
    return result


def _allowlist() -> Snapshot:
    from engine.allowlist.matching import StoredAllowlist

    return StoredAllowlist().current()


def _rescreen(
    info: SnapshotInfo, new: DesignationHistory, changes: dict[str, Change], now: datetime | None
) -> tuple[list[ScreeningHit], int, int]:
    only = DesignationHistory(new.version, new.snapshots, [c.after for c in changes.values()])
    lazy = LazyDesignations(new.version, info.date_generated, lambda: [])
    lazy._built = DesignationIndex.build(only)
    screener = Screener([lazy])
    screener.retro = True
    since = months_before(now or datetime.now(UTC), get_screening_settings().retro_months)
    allowed = _allowlist()
    all_hits: list[ScreeningHit] = []
    opened = allowlisted = 0
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
        set_aside: list[dict[str, Any]] = []
        now_ts = datetime.now(UTC)
        for _, event_id, raw, occurred_at in rows:
            try:
                event = Event.model_validate(raw)
            except ValidationError:
                continue  # stored events were validated on arrival; a newer contract may differ
            day = event.occurred_at.date()
            fresh = []
            for hit in screener.screen(event):
                before = changes[hit.reference].before if hit.reference in changes else None
                if before is not None and before.standing(day).in_force:
                    continue  # already designated on that day before this import
                fresh.append(hit)
            notes: list[str] = []
            if fresh and allowed.version:
                fresh, notes = allowed.apply(event, fresh)
            if notes:
                set_aside.append(_allowlisted_row(event_id, notes, allowed.version, info, now_ts))
            by_regime: dict[str, list[ScreeningHit]] = defaultdict(list)
            for hit in fresh:
                by_regime[hit.list_regime].append(hit)
            for regime, hits in by_regime.items():
                all_hits += hits
                v = violation_for(regime, hits, info, changes).model_dump(mode="json")
                if notes:
                    v["allowlist_version"], v["allowlist_notes"] = allowed.version, notes
                alerts += alert_rows(
                    event_id, [v], occurred_at=occurred_at, origin="retro_screening", now=now_ts
                )
        alerts, withheld = _snoozed(alerts, {r[1]: r[2] for r in rows}, now_ts)
        if alerts or set_aside or withheld:
            with get_engine().begin() as conn:
                for event_id, items, occurred in withheld:
                    attach(conn, event_id, None, items, occurred, "retro_screening", now_ts)
                if set_aside:
                    allowlisted += _record_set_aside(conn, set_aside)
                before_count = _count_retro(conn)
                open_alerts(conn, alerts)
                opened += _count_retro(conn) - before_count
    return all_hits, opened, allowlisted


def _snoozed(
    alerts: list[dict[str, Any]], raws: dict[str, Any], now: datetime
) -> tuple[list[dict[str, Any]], list[tuple[str, list[dict[str, Any]], datetime]]]:
    """Alert rows an active snooze withholds (engine.snoozes, judged now) are not opened: they
    are attached to the snoozed case instead, as on the live path."""
    if not alerts:
        return alerts, []
    snap = current_snoozes()
    if not snap.version or not snap.may_apply(a["violation"] for a in alerts):
        return alerts, []
    kept, withheld = [], []
    for a in alerts:
        items = snap.apply(raws.get(a["event_id"]) or {}, [a["violation"]], now)
        if items:
            withheld.append((a["event_id"], items, a["occurred_at"]))
        else:
            kept.append(a)
    return kept, withheld


def _allowlisted_row(
    event_id: str, notes: list[str], version: int, info: SnapshotInfo, now: datetime
) -> dict[str, Any]:
    return {
        "at": now,
        "actor": ACTOR,
        "action": "retro_allowlisted",
        "target_type": "event",
        "target_id": event_id[:100],
        "after": {"allowlist_version": version, "list_snapshot": info.sha256},
        "note": "\n".join(notes),
    }


def _record_set_aside(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Audit rows of hits set aside, once per (event, list snapshot, allowlist version): a
    repeated re-screening of the same import records nothing twice."""
    from engine.storage.desk_tables import AuditRow

    audit = typing.cast(Table, AuditRow.__table__)
    new = []
    for row in rows:
        seen = conn.execute(
            select(audit.c.id, audit.c.after).where(
                and_(
                    audit.c.action == "retro_allowlisted",
                    audit.c.target_type == "event",
                    audit.c.target_id == row["target_id"],
                )
            )
        ).all()
        if not any(after == row["after"] for _, after in seen):
            new.append(row)
    if new:
        conn.execute(audit.insert(), new)
    return len(new)


def mark_delistings(old: DesignationHistory, new: DesignationHistory) -> int:
    """Mark open alerts citing an entry that left the list with this import (closes nothing)."""
    from engine.storage.desk_tables import AlertNoteRow, AuditRow

    notes = typing.cast(Table, AlertNoteRow.__table__)
    audit = typing.cast(Table, AuditRow.__table__)
    before = old.by_key()
    gone = {
        h.entry.reference: h
        for h in new.entries
        if h.removed is not None and (h.key not in before or before[h.key].removed is None)
    }
    marked = 0
    for ref, h in sorted(gone.items()):
        assert h.removed is not None
        last, first_absent = h.removed
        body = (
            f"Delisting: {ref} {h.entry.name} is no longer on the UN {h.entry.regime} list: last "
            f"known listed {last}, absent from the snapshot of {first_absent} (removal known only to "
            f"lie between them). This alert stays open: review whether the event still breaches "
            f"the measure on its own day."
        )
        with get_engine().begin() as conn:
            rows = conn.execute(
                select(ALERTS.c.id, ALERTS.c.violation).where(
                    and_(
                        ALERTS.c.status.in_(OPEN),
                        cast(ALERTS.c.violation, Text).like(f"%{ref}%"),
                    )
                )
            ).all()
            for alert_id, violation in rows:
                if ref not in store.references_in(violation):
                    continue
                seen = conn.execute(
                    select(notes.c.id).where(
                        and_(notes.c.alert_id == alert_id, notes.c.body == body)
                    )
                ).first()
                if seen:
                    continue
                now_ts = datetime.now(UTC)
                conn.execute(
                    notes.insert().values(
                        alert_id=alert_id, kind="evidence", author=ACTOR, at=now_ts, body=body
                    )
                )
                conn.execute(
                    audit.insert().values(
                        at=now_ts,
                        actor=ACTOR,
                        action="delisting_noted",
                        target_type="alert",
                        target_id=str(alert_id),
                        alert_id=alert_id,
                        note=body,
                    )
                )
                marked += 1
    return marked


def _count_retro(conn) -> int:
    from sqlalchemy import func

    return conn.execute(
        select(func.count()).select_from(ALERTS).where(ALERTS.c.origin == "retro_screening")
    ).scalar_one()

"""Apply snoozes when alerts are opened: one snapshot per batch (a head read), judged at the
decision's own time so a replay at the pinned version decides alike; then attach what was
withheld to the snoozed case as occurrences marked snoozed (caller's transaction).
"""

from __future__ import annotations

import threading
import typing
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, select

from engine.snoozes.facts import fingerprint, material_facts
from engine.snoozes.store import Snooze, snoozes_at
from engine.snoozes.tables import SnoozeChangeRow, SnoozeHeadRow, SnoozeOccurrenceRow

HEAD = typing.cast(Table, SnoozeHeadRow.__table__)
OCCURRENCES = typing.cast(Table, SnoozeOccurrenceRow.__table__)
CHANGES = typing.cast(Table, SnoozeChangeRow.__table__)


@dataclass
class Snapshot:
    version: int
    snoozes: list[Snooze] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_rule: dict[str, list[Snooze]] = defaultdict(list)
        for s in self.snoozes:
            if s.status == "active":
                self._by_rule[s.rule_id].append(s)

    def may_apply(self, violations: Iterable[Mapping[str, Any]]) -> bool:
        return any(v.get("rule_id") in self._by_rule for v in violations)

    def apply(
        self, raw: Mapping[str, Any], violations: Iterable[Mapping[str, Any]], at: datetime
    ) -> list[dict[str, Any]]:
        """The violations (by rule) a snooze active at ``at`` withholds: [{rule_id, snooze_id,
        case_id}] (one per rule, the oldest snooze wins)."""
        out: list[dict[str, Any]] = []
        for v in violations:
            candidates = [s for s in self._by_rule.get(v.get("rule_id", ""), []) if s.active_at(at)]
            if not candidates:
                continue
            from engine.snoozes.facts import subject_keys

            keys = set(subject_keys(raw, v))
            mark = fingerprint(material_facts(raw, v))
            hit = next(
                (
                    s
                    for s in sorted(candidates, key=lambda s: s.id)
                    if s.subject_key in keys and s.fingerprint == mark
                ),
                None,
            )
            if hit is not None and all(o["rule_id"] != v["rule_id"] for o in out):
                out.append({"rule_id": v["rule_id"], "snooze_id": hit.id, "case_id": hit.case_id})
        return out


_lock = threading.Lock()
# (version, when that version was written) -> snapshot: the time tells a version apart from the
# same number in a store that was emptied (tests) or restored
_cache: dict[tuple[int, Any], Snapshot] = {}


def snapshot_at(version: int, written: Any = None) -> Snapshot:
    if written is None:
        return Snapshot(version, snoozes_at(version))
    with _lock:
        snap = _cache.get((version, written))
    if snap is None:
        snap = Snapshot(version, snoozes_at(version))
        with _lock:
            if len(_cache) > 16:
                _cache.clear()
            _cache[(version, written)] = snap
    return snap


def current() -> Snapshot:
    """The newest snoozes: one head read per batch, before the batch's write transaction (the
    hot path's only cost while no snooze was ever made is this read)."""
    from engine.storage.db import get_engine

    with get_engine().connect() as conn:
        head = conn.execute(
            select(HEAD.c.version, CHANGES.c.at)
            .outerjoin(CHANGES, CHANGES.c.version == HEAD.c.version)
            .where(HEAD.c.id == 1)
        ).first()
    if head is None or not head[0]:
        return Snapshot(0)
    return snapshot_at(head[0], head[1])


def judge(rows: list[dict[str, Any]]) -> None:
    """Set ``snooze_version`` and ``snoozed`` on decision rows (the dicts save_decisions
    inserts): every flagged row records the version it was judged against, and which of its
    rules a snooze withheld, judged at the decision's evaluated_at."""
    from engine.storage.repository import load_events

    flagged = [r for r in rows if r["status"] == "flagged"]
    if not flagged:
        return
    snap = current()
    if not snap.version:
        return
    need = []
    for r in flagged:
        r["snooze_version"] = snap.version
        if snap.may_apply(r["violations"]):
            need.append(r)
    if not need:
        return
    raws = {e: raw for e, raw, _, _ in load_events([r["event_id"] for r in need])}
    for r in need:
        r["snoozed"] = (
            snap.apply(raws.get(r["event_id"]) or {}, r["violations"], r["evaluated_at"]) or None
        )


def attach(
    conn: Connection,
    event_id: str,
    decision_id: int | None,
    withheld: list[dict[str, Any]],
    occurred_at: datetime,
    origin: str,
    now: datetime,
) -> None:
    """Record each withheld (event, rule) and link the event to its snoozed case once."""
    from engine.cases.filing import link_event

    for w in withheld:
        seen = conn.execute(
            select(OCCURRENCES.c.id).where(
                and_(
                    OCCURRENCES.c.snooze_id == w["snooze_id"],
                    OCCURRENCES.c.event_id == event_id,
                    OCCURRENCES.c.rule_id == w["rule_id"],
                )
            )
        ).first()
        if seen is not None:
            continue
        conn.execute(
            OCCURRENCES.insert().values(
                snooze_id=w["snooze_id"],
                event_id=event_id,
                decision_id=decision_id,
                rule_id=w["rule_id"],
                case_id=w["case_id"],
                origin=origin,
                at=now,
            )
        )
        if w["case_id"] is not None:
            link_event(
                conn,
                w["case_id"],
                event_id,
                occurred_at,
                f"snoozed (snooze #{w['snooze_id']})",
                now,
            )

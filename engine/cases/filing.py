"""File newly opened alerts into cases, in the transaction that inserted them.

One case per event holds the alerts of its violations. An event whose keys (engine.cases.keys)
meet an open case joins that case as a linked occurrence instead of opening a new one; the
oldest such case wins when several match (the officer may merge the others). Idempotent: an
alert already in a case is left where it is, so a redelivered batch files nothing twice.

Two workers filing events about the same vessel at the same instant can each open a case;
the desk's merge joins them (no lock is taken on the hot path).
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, insert, select, update

from engine.cases import changes
from engine.cases.keys import case_keys
from engine.cases.tables import CaseAlertRow, CaseEventRow, CaseKeyRow, CaseRow
from engine.models.decisions import SEVERITY_RANK
from engine.storage.tables import AlertRow, EventRow

CASES = typing.cast(Table, CaseRow.__table__)
CASE_ALERTS = typing.cast(Table, CaseAlertRow.__table__)
CASE_EVENTS = typing.cast(Table, CaseEventRow.__table__)
CASE_KEYS = typing.cast(Table, CaseKeyRow.__table__)
ALERTS = typing.cast(Table, AlertRow.__table__)
EVENTS = typing.cast(Table, EventRow.__table__)


@dataclass(frozen=True)
class Filed:
    case_id: int
    event_id: str
    opened: bool  # a new case (False: joined an open one as an occurrence)
    severity: str


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _worst(*severities: str) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0))


def file_alerts(conn: Connection, event_ids: Iterable[str]) -> list[Filed]:
    """Put the alerts of these events that are in no case yet into cases (caller's transaction)."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    in_case = select(CASE_ALERTS.c.alert_id)
    rows = conn.execute(
        select(
            ALERTS.c.id, ALERTS.c.event_id, ALERTS.c.severity, ALERTS.c.title, ALERTS.c.violation
        )
        .where(and_(ALERTS.c.event_id.in_(ids), ALERTS.c.id.not_in(in_case)))
        .order_by(ALERTS.c.id)
    ).all()
    if not rows:
        return []
    by_event: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_event[r.event_id].append(r)
    events = {
        e.event_id: e
        for e in conn.execute(
            select(EVENTS.c.event_id, EVENTS.c.raw, EVENTS.c.occurred_at).where(
                EVENTS.c.event_id.in_(list(by_event))
            )
        )
    }
    now = datetime.now(UTC)
    filed = []
    history: list[tuple[int, str, str | None, list[int], list[tuple[int, str]]]] = []
    order = sorted(by_event, key=lambda e: (_utc(events[e].occurred_at), e))
    for event_id in order:
        alerts = by_event[event_id]
        event = events[event_id]
        occurred = _utc(event.occurred_at)
        keys = case_keys(event.raw, [a.violation or {} for a in alerts])
        severity = _worst(*(a.severity for a in alerts))
        case_id, joined_by = _open_case_for(conn, event_id, keys)
        if case_id is None:
            top = max(alerts, key=lambda a: (SEVERITY_RANK.get(a.severity, 0), -a.id))
            case_id = conn.execute(
                insert(CASES)
                .values(
                    status="open",
                    severity=severity,
                    title=top.title[:300],
                    opened_at=now,
                    updated_at=now,
                    last_occurred_at=occurred,
                )
                .returning(CASES.c.id)
            ).scalar_one()
            opened = True
        else:
            current = conn.execute(
                select(CASES.c.severity, CASES.c.last_occurred_at).where(CASES.c.id == case_id)
            ).one()
            conn.execute(
                update(CASES)
                .where(CASES.c.id == case_id)
                .values(
                    severity=_worst(current.severity, severity),
                    updated_at=now,
                    last_occurred_at=max(_utc(current.last_occurred_at), occurred),
                )
            )
            opened = False
        conn.execute(insert(CASE_ALERTS), [{"alert_id": a.id, "case_id": case_id} for a in alerts])
        linked = link_event(conn, case_id, event_id, occurred, joined_by, now)
        add_keys(conn, case_id, keys)
        filed.append(Filed(case_id, event_id, opened, severity))
        history.append(
            (case_id, "open" if opened else "absorb", None, [a.id for a in alerts],
             [linked] if linked else [])
        )  # fmt: skip
    changes.record(conn, history)  # the case history the audit journal hashes
    return filed


def link_event(
    conn: Connection,
    case_id: int,
    event_id: str,
    occurred: datetime,
    joined_by: str | None,
    now: datetime,
) -> tuple[int, str] | None:
    """Record the event in the case once (the first event, or an occurrence joined by a key);
    returns (case event id, role) when it was recorded now."""
    there = conn.execute(
        select(CASE_EVENTS.c.id).where(
            and_(CASE_EVENTS.c.case_id == case_id, CASE_EVENTS.c.event_id == event_id)
        )
    ).first()
    if there is not None:
        return None
    first = conn.execute(select(CASE_EVENTS.c.id).where(CASE_EVENTS.c.case_id == case_id)).first()
    role = "occurrence" if first is not None else "first"
    new_id = conn.execute(
        insert(CASE_EVENTS)
        .values(
            case_id=case_id,
            event_id=event_id,
            role=role,
            joined_by=joined_by if first is not None else None,
            linked_at=now,
            occurred_at=occurred,
        )
        .returning(CASE_EVENTS.c.id)
    ).scalar_one()
    return int(new_id), role


def add_keys(conn: Connection, case_id: int, keys: list[str]) -> None:
    have = set(
        conn.execute(select(CASE_KEYS.c.key).where(CASE_KEYS.c.case_id == case_id)).scalars()
    )
    new = [k for k in keys if k not in have]
    if new:
        conn.execute(insert(CASE_KEYS), [{"case_id": case_id, "key": k} for k in new])


def _open_case_for(
    conn: Connection, event_id: str, keys: list[str]
) -> tuple[int | None, str | None]:
    """The open case this event belongs to: one already holding the event (a later alert of the
    same event, e.g. from retro-screening), else the oldest open case sharing a key."""
    held = conn.execute(
        select(CASES.c.id)
        .join(CASE_EVENTS, CASE_EVENTS.c.case_id == CASES.c.id)
        .where(and_(CASE_EVENTS.c.event_id == event_id, CASES.c.status == "open"))
        .order_by(CASES.c.id)
    ).first()
    if held is not None:
        return held[0], None
    if not keys:
        return None, None
    match = conn.execute(
        select(CASES.c.id, CASE_KEYS.c.key)
        .join(CASE_KEYS, CASE_KEYS.c.case_id == CASES.c.id)
        .where(and_(CASE_KEYS.c.key.in_(keys), CASES.c.status == "open"))
        .order_by(CASES.c.id, CASE_KEYS.c.id)
    ).first()
    return (match[0], match[1]) if match is not None else (None, None)

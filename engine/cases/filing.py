"""File newly opened alerts into cases, in the transaction that inserted them.

One case per event holds the alerts of its violations. An event whose keys (engine.cases.keys)
meet an open case joins that case as a linked occurrence instead of opening a new one; the
oldest such case wins when several match (the officer may merge the others). Idempotent: an
alert already in a case is left where it is, so a redelivered batch files nothing twice.

Filed per batch, in a few statements whatever its size: the open cases of every key of the
batch are read at once, the batch is filed in memory in event order (a later event of the batch
joins a case an earlier one opened, exactly as one-by-one filing did), then cases, alerts, events
and keys are written with one statement each.

Two workers filing events with a shared key at the same instant must not each open a case: on
PostgreSQL the batch first takes a transaction-scoped advisory lock per key (in sorted order, so
two batches cannot deadlock), then reads the open cases, so the second sees the first's case once
it commits. SQLite needs none: its writers are serialised from the batch's first insert, before
any case is read.
"""

from __future__ import annotations

import hashlib
import typing
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    insert,
    select,
    text,
    update,
)

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


def link_event(
    conn: Connection,
    case_id: int,
    event_id: str,
    occurred: datetime,
    joined_by: str | None,
    now: datetime,
) -> tuple[int, str] | None:
    """Record the event in the case once (the first event, or an occurrence joined by a key);
    returns (case event id, role) when it was recorded now. One event at a time
    (engine.snoozes); file_alerts links a whole batch itself."""
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


def _lock_id(key: str) -> int:
    """A stable signed 64-bit advisory-lock id per key (Python's hash() differs per process)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _lock_keys(conn: Connection, keys: Iterable[str]) -> None:
    """PostgreSQL: hold the keys' advisory locks until the transaction ends (see module doc)."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(k) for k in keys})
    if ids:
        conn.execute(_LOCKS, {"ids": ids}).all()


_LOCKS = text(
    "SELECT pg_advisory_xact_lock(id) FROM"
    " (SELECT unnest(CAST(:ids AS bigint[])) AS id ORDER BY 1) AS sorted_ids"
)


@dataclass
class _Case:
    """An open case as the batch sees it: existing (``id``) or opened by this batch (``new``)."""

    order: tuple[int, int]  # existing cases by id, then this batch's new ones in opening order
    id: int | None
    severity: str
    last_occurred_at: datetime
    keys: list[str]  # in case_keys id order (the first matching key is the one joined by)
    has_events: bool
    title: str = ""
    touched: bool = False


@dataclass
class _Placed:
    """Where one event of the batch went; ``role`` None: the case lists the event already."""

    event_id: str
    occurred: datetime
    case: _Case
    opened: bool
    severity: str
    role: str | None
    joined_by: str | None


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
    order = sorted(by_event, key=lambda e: (_utc(events[e].occurred_at), e))
    keys_of = {e: case_keys(events[e].raw, [a.violation or {} for a in by_event[e]]) for e in order}
    all_keys = sorted({k for ks in keys_of.values() for k in ks})
    _lock_keys(conn, all_keys)

    cases: dict[tuple[int, int], _Case] = {}

    def existing(row: Any) -> _Case:
        case = cases.get((0, row.id))
        if case is None:
            case = cases[(0, row.id)] = _Case(
                (0, row.id), row.id, row.severity, _utc(row.last_occurred_at), [], False
            )
        return case

    # An open case already holding the event (a later alert of it, e.g. from retro-screening).
    held: dict[str, _Case] = {}
    for h in conn.execute(
        select(CASE_EVENTS.c.event_id, CASES.c.id, CASES.c.severity, CASES.c.last_occurred_at)
        .join(CASES, CASE_EVENTS.c.case_id == CASES.c.id)
        .where(and_(CASE_EVENTS.c.event_id.in_(order), CASES.c.status == "open"))
        .order_by(CASES.c.id)
    ):
        held.setdefault(h.event_id, existing(h))
    # The open cases sharing a key, each with all its keys in order.
    if all_keys:
        sharing = select(CASE_KEYS.c.case_id).where(CASE_KEYS.c.key.in_(all_keys))
        for kr in conn.execute(
            select(CASES.c.id, CASES.c.severity, CASES.c.last_occurred_at, CASE_KEYS.c.key)
            .join(CASE_KEYS, CASE_KEYS.c.case_id == CASES.c.id)
            .where(and_(CASES.c.status == "open", CASES.c.id.in_(sharing)))
            .order_by(CASES.c.id, CASE_KEYS.c.id)
        ):
            existing(kr).keys.append(kr.key)
    for holder in held.values():  # held cases' own keys (add only what is not there yet)
        if not holder.keys:
            holder.keys = list(
                conn.execute(
                    select(CASE_KEYS.c.key)
                    .where(CASE_KEYS.c.case_id == holder.id)
                    .order_by(CASE_KEYS.c.id)
                ).scalars()
            )
    if cases:
        with_events = set(
            conn.execute(
                select(CASE_EVENTS.c.case_id)
                .where(CASE_EVENTS.c.case_id.in_([c.id for c in cases.values()]))
                .distinct()
            ).scalars()
        )
        for one in cases.values():
            one.has_events = one.id in with_events
    by_key: dict[str, list[_Case]] = defaultdict(list)
    for one in sorted(cases.values(), key=lambda c: c.order):
        for key in one.keys:
            by_key[key].append(one)

    # File in event order, in memory.
    now = datetime.now(UTC)
    placed: list[_Placed] = []
    new_keys: list[tuple[_Case, str]] = []
    for event_id in order:
        alerts = by_event[event_id]
        occurred = _utc(events[event_id].occurred_at)
        keys = keys_of[event_id]
        severity = _worst(*(a.severity for a in alerts))
        joined_by: str | None = None
        case = held.get(event_id)
        link = case is None  # a case holding the event lists it already
        if case is None and keys:
            found = [c for k in keys for c in by_key.get(k, ())]
            if found:
                case = min(found, key=lambda c: c.order)
                joined_by = next(k for k in case.keys if k in keys)
        if case is None:
            top = max(alerts, key=lambda a: (SEVERITY_RANK.get(a.severity, 0), -a.id))
            order_new = (1, len(cases))
            case = cases[order_new] = _Case(
                order_new, None, severity, occurred, [], False, top.title[:300]
            )
            opened = True
        else:
            case.severity = _worst(case.severity, severity)
            case.last_occurred_at = max(case.last_occurred_at, occurred)
            case.touched = case.id is not None  # a new case is inserted with its final values
            opened = False
        role, joined = ("occurrence", joined_by) if case.has_events else ("first", None)
        placed.append(
            _Placed(event_id, occurred, case, opened, severity, role if link else None, joined)
        )
        case.has_events = True
        for k in keys:
            if k not in case.keys:
                case.keys.append(k)
                new_keys.append((case, k))
                if case not in by_key[k]:
                    by_key[k].append(case)

    # Write: new cases (ids in opening order), updates, then the links.
    new = [c for c in cases.values() if c.id is None]
    if new:
        new.sort(key=lambda c: c.order)
        got = conn.execute(
            insert(CASES).returning(CASES.c.id, sort_by_parameter_order=True),
            [
                {
                    "status": "open",
                    "severity": c.severity,
                    "title": c.title,
                    "opened_at": now,
                    "updated_at": now,
                    "last_occurred_at": c.last_occurred_at,
                }
                for c in new
            ],
        ).scalars()
        for c, case_id in zip(new, got, strict=True):
            c.id = case_id
    touched = [c for c in cases.values() if c.touched]
    if touched:
        conn.execute(
            update(CASES)
            .where(CASES.c.id == bindparam("case_id"))
            .values(
                severity=bindparam("new_severity"),
                updated_at=now,
                last_occurred_at=bindparam("last"),
            ),
            [
                {"case_id": c.id, "new_severity": c.severity, "last": c.last_occurred_at}
                for c in touched
            ],
        )
    conn.execute(
        insert(CASE_ALERTS),
        [{"alert_id": a.id, "case_id": p.case.id} for p in placed for a in by_event[p.event_id]],
    )
    links = [
        {
            "case_id": p.case.id,
            "event_id": p.event_id,
            "role": p.role,
            "joined_by": p.joined_by,
            "linked_at": now,
            "occurred_at": p.occurred,
        }
        for p in placed
        if p.role is not None
    ]
    linked: dict[str, tuple[int, str]] = {}
    if links:
        got_ids = conn.execute(
            insert(CASE_EVENTS).returning(CASE_EVENTS.c.id, sort_by_parameter_order=True), links
        ).scalars()
        for p, case_event_id in zip([p for p in placed if p.role], got_ids, strict=True):
            linked[p.event_id] = (int(case_event_id), typing.cast(str, p.role))
    if new_keys:
        conn.execute(insert(CASE_KEYS), [{"case_id": c.id, "key": k} for c, k in new_keys])
    # the case history the audit journal hashes (engine.cases.changes), one row per event
    changes.record(
        conn,
        [
            (
                typing.cast(int, p.case.id),  # every case has its id now
                "open" if p.opened else "absorb",
                None,
                [a.id for a in by_event[p.event_id]],
                [linked[p.event_id]] if p.event_id in linked else [],
            )
            for p in placed
        ],
    )
    return [Filed(p.case.id, p.event_id, p.opened, p.severity) for p in placed]  # type: ignore[arg-type]  # every case has its id now

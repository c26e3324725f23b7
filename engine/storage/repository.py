"""Pipeline reads and writes over the core tables (events, decisions, alerts, rejections).

Every write is an insert-or-ignore on a unique key (``ON CONFLICT DO NOTHING``, which SQLite and
PostgreSQL both speak), so a redelivered message or a re-sent HTTP body can never add a second
event, decision or alert. SQLAlchemy Core is used on the hot path: the worker writes hundreds of
rows per batch and the ORM's unit of work would dominate its time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.alerts import alert_rows, open_alerts
from engine.models.decisions import Decision
from engine.models.events import Event
from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow, EventRow, RejectionRow
from engine.vessels.index import write_sightings

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
DECISIONS: Table = DecisionRow.__table__  # type: ignore[assignment]
ALERTS: Table = AlertRow.__table__  # type: ignore[assignment]
REJECTIONS: Table = RejectionRow.__table__  # type: ignore[assignment]


def canonical_json(raw: Any) -> str:
    """One serialisation per JSON value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(raw: Any) -> str:
    return hashlib.sha256(canonical_json(raw).encode("utf-8")).hexdigest()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _cached(conn: Connection, name: str, build: Any) -> Any:
    """Build a statement once per dialect: constructing SQLAlchemy statements costs more than
    executing the cached SQL for the one-event batches of the single-event path."""
    key = (conn.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def _insert(table: Table, conn: Connection) -> postgresql.Insert | sqlite.Insert:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


@dataclass(frozen=True)
class StoredEvent:
    """What the store holds for one event_id (the first body ever received under it)."""

    event_id: str
    sha256: str
    received_at: datetime
    status: str
    created: bool  # True when this call inserted it; False when it was already there


def store_events(
    events: Sequence[tuple[dict[str, Any], Event, str]], received_at: datetime | None = None
) -> dict[str, StoredEvent]:
    """Insert each (raw JSON, validated event, sha256_of(raw)) unless its event_id is known; commit.

    The raw JSON is stored as received (extra fields included); the sha256 is over its canonical
    serialisation, so the caller can tell "same body again" from "different body, same id".
    Returns the stored state per event_id. Within ``events`` the first occurrence of an id wins.
    The vessels each new event names go into the vessel_sightings index in the same transaction
    (engine.vessels.index): the event must be ``Event.model_validate(raw)``, as ingest's is.
    """
    received_at = received_at or datetime.now(UTC)
    rows: dict[str, dict[str, Any]] = {}
    validated: dict[str, Event] = {}
    for raw, event, sha in events:
        if event.event_id in rows:
            continue
        validated[event.event_id] = event
        rows[event.event_id] = {
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "source": event.source,
            "contract_version": event.contract_version,
            "occurred_at": event.occurred_at.astimezone(UTC),
            "received_at": received_at,
            "sha256": sha,
            "raw": raw,
            "status": "received",
        }
    if not rows:
        return {}
    out: dict[str, StoredEvent] = {}
    with get_engine().begin() as conn:
        stmt = _cached(
            conn,
            "insert_events",
            lambda: (
                _insert(EVENTS, conn)
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(EVENTS.c.event_id)
            ),
        )
        # RETURNING lists exactly the rows this call inserted (multi-row VALUES on both dialects).
        for event_id in conn.execute(stmt, list(rows.values())).scalars():
            row = rows[event_id]
            out[event_id] = StoredEvent(event_id, row["sha256"], received_at, "received", True)
        # the vessel-sightings index of the events inserted, in their transaction (derived data)
        write_sightings(conn, [(validated[e], received_at) for e in out])
        known = [e for e in rows if e not in out]
        if known:  # already stored: report what the store holds (first body wins)
            found = conn.execute(
                select(
                    EVENTS.c.event_id, EVENTS.c.sha256, EVENTS.c.received_at, EVENTS.c.status
                ).where(EVENTS.c.event_id.in_(known))
            ).all()
            for event_id, sha, at, status in found:
                out[event_id] = StoredEvent(event_id, sha, as_utc(at), status, False)
    return out


def load_events(
    event_ids: Iterable[str], conn: Connection | None = None
) -> list[tuple[str, dict[str, Any], datetime, str]]:
    """(event_id, raw, received_at, status) of the stored events among ``event_ids``.

    With ``conn`` the read runs on it and its transaction is ended before returning (the worker
    evaluates between load and save and must not hold a read snapshot meanwhile)."""
    ids = list(dict.fromkeys(event_ids))
    if not ids:
        return []
    if conn is None:
        with get_engine().connect() as own:
            return load_events(ids, own)
    stmt = _cached(
        conn,
        "load_events",
        lambda: select(
            EVENTS.c.event_id, EVENTS.c.raw, EVENTS.c.received_at, EVENTS.c.status
        ).where(EVENTS.c.event_id.in_(bindparam("ids", expanding=True))),
    )
    rows = conn.execute(stmt, {"ids": ids}).all()
    conn.rollback()  # read only: end the snapshot
    return [(r[0], r[1], as_utc(r[2]), r[3]) for r in rows]


def save_decisions(
    decisions: Sequence[Decision], occurred_at: dict[str, datetime], conn: Connection | None = None
) -> list[str]:
    """Store decisions (one per event, first wins), their alerts and the events' status; commit.

    A flagged decision opens one alert per violated rule, unique per (event_id, rule_id). Alerts
    are only written for decisions this call inserted, in the same transaction, so a redelivered
    batch adds nothing. Returns the event_ids whose decision this call stored.
    """
    if not decisions:
        return []
    rows = []
    for d in decisions:
        data = d.model_dump(mode="json")
        rows.append(
            {
                "event_id": d.event_id,
                "status": d.status,
                "violations": data["violations"],
                "reasons": data["reasons"],
                "rule_pack_version": d.rule_pack_version,
                "list_version": d.list_version,
                "register_version": d.register_version,
                "register_notes": data["register_notes"] or None,
                "data_quality": data["data_quality"] or None,
                "needs_information": d.needs_information,
                "allowlist_version": d.allowlist_version,
                "allowlist_notes": data["allowlist_notes"] or None,
                "snooze_version": d.snooze_version,
                "snoozed": data["snoozed"] or None,
                "engine_version": d.engine_version,
                "evaluated_at": d.evaluated_at.astimezone(UTC)
                if d.evaluated_at.tzinfo
                else d.evaluated_at.replace(tzinfo=UTC),
            }
        )
    from engine.snoozes.matching import judge

    judge(rows)  # which alerts an active snooze withholds (engine.snoozes)
    by_id = {r["event_id"]: r for r in rows}
    if conn is None:
        with get_engine().connect() as own:
            return _save_rows(own, by_id, occurred_at)
    return _save_rows(conn, by_id, occurred_at)


def _save_rows(
    conn: Connection, by_id: dict[str, dict[str, Any]], occurred_at: dict[str, datetime]
) -> list[str]:
    """One transaction on ``conn`` (committed here): decisions, their alerts, the events' status."""
    with conn.begin():
        stmt = _cached(
            conn,
            "insert_decisions",
            lambda: (
                _insert(DECISIONS, conn)
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(DECISIONS.c.id, DECISIONS.c.event_id)
            ),
        )
        inserted = conn.execute(stmt, list(by_id.values())).all()
        alerts = []
        withheld = []
        now = datetime.now(UTC)
        for decision_id, event_id in inserted:
            row = by_id[event_id]
            if row["status"] != "flagged":
                continue
            snoozed = {w["rule_id"] for w in row["snoozed"] or ()}
            if snoozed:
                withheld.append((event_id, decision_id, row["snoozed"]))
            alerts += alert_rows(
                event_id,
                [v for v in row["violations"] if v["rule_id"] not in snoozed],
                occurred_at=occurred_at[event_id],
                origin="live",
                now=now,
                decision_id=decision_id,
            )
        open_alerts(conn, alerts)
        if withheld:
            from engine.snoozes.matching import attach

            for event_id, decision_id, items in withheld:
                attach(conn, event_id, decision_id, items, occurred_at[event_id], "live", now)
        done = [e for _, e in inserted]
        mark = _cached(
            conn,
            "mark_events",
            lambda: (
                update(EVENTS)
                .where(
                    and_(
                        EVENTS.c.event_id.in_(bindparam("ids", expanding=True)),
                        EVENTS.c.status == "received",
                    )
                )
                .values(status=bindparam("new_status"))
            ),
        )
        for status in ("decided", "rejected"):
            ids = [e for e in done if (by_id[e]["status"] == "rejected") == (status == "rejected")]
            if ids:
                conn.execute(mark, {"ids": ids, "new_status": status})
    return [e for _, e in inserted]


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def _storable_text(text: str) -> str:
    text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def record_rejection(
    channel: str, raw: Any, errors: list[dict[str, Any]], event_id: str | None = None
) -> None:
    """Keep a message that never became a valid event, with why (never raises on odd input)."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        try:
            text = json.dumps(raw, ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            text = repr(raw)
    # PostgreSQL text and JSONB cannot hold NUL, and no database takes a lone surrogate (a str
    # from the queue, or a decoded "\udfff"): keep both visible instead of failing the insert.
    text = _storable_text(text)
    errors = _without_nul(errors)
    if event_id is not None:
        event_id = _storable_text(str(event_id)[:200])
    with get_engine().begin() as conn:
        conn.execute(
            REJECTIONS.insert().values(
                channel=channel,
                event_id=event_id,
                raw=text,
                errors=errors,
                received_at=datetime.now(UTC),
            )
        )


def undecided_ids(received_before: datetime, limit: int) -> list[str]:
    """Stored events still waiting for a decision, oldest first (what the sweeper re-queues)."""
    with get_engine().connect() as conn:
        return list(
            conn.scalars(
                select(EVENTS.c.event_id)
                .where(and_(EVENTS.c.status == "received", EVENTS.c.received_at < received_before))
                .order_by(EVENTS.c.received_at)
                .limit(limit)
            )
        )


def event_with_decision(event_id: str) -> dict[str, Any] | None:
    """The stored event (raw JSON and metadata), its decision and alerts, for the API."""
    with get_engine().connect() as conn:
        ev = conn.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
        if ev is None:
            return None
        dec = (
            conn.execute(select(DECISIONS).where(DECISIONS.c.event_id == event_id))
            .mappings()
            .first()
        )
        alerts = (
            conn.execute(
                select(ALERTS.c.id, ALERTS.c.rule_id, ALERTS.c.severity, ALERTS.c.status)
                .where(ALERTS.c.event_id == event_id)
                .order_by(ALERTS.c.id)
            )
            .mappings()
            .all()
        )
    decision = None
    if dec is not None:
        decision = {
            "status": dec["status"],
            "violations": dec["violations"],
            "reasons": dec["reasons"],
            "rule_pack_version": dec["rule_pack_version"],
            "list_version": dec["list_version"],
            "register_version": dec["register_version"],
            "register_notes": dec["register_notes"] or [],
            "data_quality": dec["data_quality"] or [],
            "needs_information": bool(dec["needs_information"]),
            "allowlist_version": dec["allowlist_version"],
            "allowlist_notes": dec["allowlist_notes"] or [],
            "snooze_version": dec["snooze_version"],
            "snoozed": dec["snoozed"] or [],
            "engine_version": dec["engine_version"],
            "evaluated_at": as_utc(dec["evaluated_at"]).isoformat(),
        }
    return {
        "event_id": ev["event_id"],
        "event_type": ev["event_type"],
        "source": ev["source"],
        "status": ev["status"],
        "occurred_at": as_utc(ev["occurred_at"]).isoformat(),
        "received_at": as_utc(ev["received_at"]).isoformat(),
        "sha256": ev["sha256"],
        "event": ev["raw"],
        "decision": decision,
        "alerts": [dict(a) for a in alerts],
    }


def insert_alerts(conn: Connection, alerts: list[dict[str, Any]]) -> None:
    """Insert alert rows, skipping any (event_id, rule_id) that already has one (idempotent)."""
    if alerts:
        conn.execute(
            _cached(
                conn,
                "insert_alerts",
                lambda: _insert(ALERTS, conn).on_conflict_do_nothing(
                    index_elements=["event_id", "rule_id"]
                ),
            ),
            alerts,
        )

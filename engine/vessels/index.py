"""Writing and rebuilding the ``vessel_sightings`` index (engine/vessels/tables.py).

Rows are derived from the validated event exactly as the history reader derives sightings from
the stored JSON (``Event.model_validate(raw)``, engine.vessels.profile ``sightings_of``): the
store writes them in the transaction that inserts the event, so an event is never visible
without its rows; ``reindex`` deletes the table and derives it again from the events table (the
migration's back-fill and ``sanctions vessels reindex``). Inserts skip an (event_id, seq) already
there, so a rebuild racing live ingest neither fails nor duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.models.events import Event, Place, Position, Vessel
from engine.vessels.profile import Sighting, sightings_of
from engine.vessels.tables import TEXT, VesselSightingRow

SIGHTINGS = cast(Table, VesselSightingRow.__table__)
REINDEX_CHUNK = 2000  # events read and indexed per round trip


def _text(value: Any, width: int) -> str | None:
    if value is None or value == "":
        return None
    return str(value).replace("\x00", "")[:width]


def _dump(m: Any) -> dict[str, Any] | None:
    return None if m is None else m.model_dump(mode="json", exclude_none=True)


def _when(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def detail_of(s: Sighting) -> dict[str, Any]:
    """Everything of a sighting but what the row's columns key it by (event, time, role, kind);
    empty values left out (``sighting_from`` reads them as absent)."""
    out = {
        "path": s.path,
        "vessel": _dump(s.vessel),
        "other": _dump(s.other),
        "port": _dump(s.port),
        "position": _dump(s.position),
        "end_position": _dump(s.end_position),
        "started_at": _when(s.started_at),
        "ended_at": _when(s.ended_at),
        "cargo_operation": s.cargo_operation,
        "cargo": list(s.cargo),
        "previous": s.previous,
    }
    return {k: v for k, v in out.items() if v or k == "vessel"}


def _plain_defaults(cls: Any) -> dict[str, Any] | None:
    """Field defaults of a model that ``model_construct`` would fill in plainly (no alias, no
    default factory, no post-init hook); None when the model needs ``model_construct`` itself."""
    if cls.__pydantic_post_init__ or cls.model_config.get("extra") != "allow":
        return None
    out = {}
    for name, f in cls.model_fields.items():
        if f.alias is not None or f.validation_alias is not None or f.default_factory:
            return None
        # a required field (Position's lat/lon) is always in the stored data
        out[name] = None if f.is_required() else f.default
    return out


_DEFAULTS = {cls: _plain_defaults(cls) for cls in (Vessel, Place, Position)}
_set = object.__setattr__


def _build(cls: Any, data: dict[str, Any] | None) -> Any:
    """The model as it was validated when the event was stored, without validating it again:
    what ``model_construct`` builds, at a fraction of its cost (it is most of a look-up's)."""
    if data is None:
        return None
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        return cls.model_construct(**data)
    values = defaults.copy()
    given = data.keys()
    if given <= defaults.keys():
        extra = {}
        values.update(data)
    else:
        extra = {k: v for k, v in data.items() if k not in defaults}
        values.update((k, v) for k, v in data.items() if k in defaults)
    m = cls.__new__(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(given) - extra.keys())
    _set(m, "__pydantic_extra__", extra)
    _set(m, "__pydantic_private__", None)
    return m


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def sighting_from(
    event_id: str, occurred_at: datetime, role: str, kind: str, detail: dict[str, Any]
) -> Sighting:
    """The sighting a row holds, as ``sightings_of`` gave it when the event was stored."""
    return Sighting(
        event_id,
        occurred_at,
        role,
        kind,
        _build(Vessel, detail["vessel"]),
        detail.get("path", ""),
        other=_build(Vessel, detail.get("other")),
        port=_build(Place, detail.get("port")),
        position=_build(Position, detail.get("position")),
        end_position=_build(Position, detail.get("end_position")),
        started_at=_time(detail.get("started_at")),
        ended_at=_time(detail.get("ended_at")),
        cargo_operation=detail.get("cargo_operation"),
        cargo=tuple(detail.get("cargo") or ()),
        previous=dict(detail.get("previous") or {}),
    )


def _row(s: Sighting, seq: int, received_at: datetime) -> dict[str, Any]:
    v: Vessel = s.vessel
    o = s.other
    port = s.port
    return {
        "event_id": s.event_id,
        "seq": seq,
        "role": s.role,
        "kind": s.kind[:32],
        "imo": _text(v.imo, 16),
        "mmsi": _text(v.mmsi, 16),
        "occurred_at": s.occurred_at.astimezone(UTC),
        "received_at": received_at.astimezone(UTC),
        "name": _text(v.name, TEXT),
        "flag": _text(v.flag, 8),
        "call_sign": _text(v.call_sign, 32),
        "owner": _text(v.owner, TEXT),
        "operator": _text(v.operator, TEXT),
        "manager": _text(v.manager, TEXT),
        "port_locode": _text(port.locode, 16) if port else None,
        "port_country": _text(port.country, 8) if port else None,
        "other_imo": _text(o.imo, 16) if o else None,
        "other_mmsi": _text(o.mmsi, 16) if o else None,
        "other_name": _text(o.name, TEXT) if o else None,
        "other_flag": _text(o.flag, 8) if o else None,
        "detail": detail_of(s),
    }


def sighting_rows(event: Event, received_at: datetime) -> list[dict[str, Any]]:
    """The index rows of one event (none for an entity event or one naming no vessel)."""
    return [_row(s, i, received_at) for i, s in enumerate(sightings_of(event))]


def _insert(conn: Connection) -> Any:
    ins = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return ins(SIGHTINGS).on_conflict_do_nothing(index_elements=["event_id", "seq"])


def write_sightings(conn: Connection, events: Iterable[tuple[Event, datetime]]) -> int:
    """Insert the rows of these (event, received_at) on ``conn`` (the caller's transaction)."""
    rows = [r for event, at in events for r in sighting_rows(event, at)]
    if rows:
        conn.execute(_insert(conn), rows)
    return len(rows)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def reindex(conn: Connection) -> tuple[int, int]:
    """Delete the index and derive it again from every stored shipment / vessel_movement event
    (on ``conn``, in the caller's transaction). Returns (events read, rows written); a stored
    row that no longer validates gives no rows, as the history reader skips it."""
    from engine.storage.tables import EventRow

    events = cast(Table, EventRow.__table__)
    conn.execute(delete(SIGHTINGS))
    read = written = 0
    last = 0
    while True:
        batch: Sequence[Any] = conn.execute(
            select(events.c.id, events.c.raw, events.c.received_at)
            .where(
                events.c.id > last,
                events.c.event_type.in_(("shipment", "vessel_movement")),
            )
            .order_by(events.c.id)
            .limit(REINDEX_CHUNK)
        ).all()
        if not batch:
            return read, written
        parsed: list[tuple[Event, datetime]] = []
        for _id, raw, received_at in batch:
            try:
                ev = Event.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
            except ValueError:
                continue
            parsed.append((ev, _utc(received_at)))
        read += len(batch)
        written += write_sightings(conn, parsed)
        last = batch[-1][0]

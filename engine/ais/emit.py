"""A derived behaviour -> an ordinary v1 ``vessel_movement`` event (a plain dict, validated by
the normal ingest path like any pushed event).

The ``event_id`` is deterministic: ``ais:<kind>:<mmsi>:<start, UTC>`` plus the port or the
counterpart, so the same AIS derives the same ids and a re-ingested file is a duplicate, not a
second decision. ``provenance`` names the raw messages (``<batch>#<line>``) and the thresholds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.ais.derive import Derived, Identity
from engine.ais.settings import AisSettings, get_ais_settings

_THRESHOLDS = {
    "port_call": ("port_min_dwell_s", "port_max_speed_kn"),
    "ship_to_ship": (
        "sts_distance_m",
        "sts_max_speed_kn",
        "sts_min_duration_s",
        "sts_min_port_distance_m",
    ),
    "ais_gap": ("gap_min_s",),
}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vessel(v: Identity) -> dict[str, Any]:
    out: dict[str, Any] = {"mmsi": f"{v.mmsi:09d}"}
    if v.name:
        out["name"] = v.name
    if v.imo:
        out["imo"] = v.imo
    if v.flag:
        out["flag"] = v.flag
    if v.call_sign:
        out["call_sign"] = v.call_sign
    return out


def _pos(p: tuple[float, float]) -> dict[str, float]:
    return {"lat": round(p[0], 6), "lon": round(p[1], 6)}


def event_id(d: Derived) -> str:
    key = f"ais:{d.kind}:{d.vessel.mmsi:09d}:{iso(d.started_at)}"
    if d.port is not None:
        key += f":{d.port.id}"
    if d.counterpart is not None:
        key += f":{d.counterpart.mmsi:09d}"
    return key


def to_event(d: Derived, settings: AisSettings | None = None) -> dict[str, Any]:
    s = settings or get_ais_settings()
    last = d.ended_at if d.ended_at is not None else d.started_at
    body: dict[str, Any] = {"kind": d.kind, "vessel": _vessel(d.vessel)}
    if d.port is not None:
        body["port"] = {"country": d.port.country, "name": d.port.name}
        if d.port.locode:
            body["port"]["locode"] = d.port.locode
    if d.counterpart is not None:
        body["counterpart_vessel"] = _vessel(d.counterpart)
    if d.position is not None:
        body["position"] = _pos(d.position)
    if d.end_position is not None:
        body["end_position"] = _pos(d.end_position)
    body["started_at"] = iso(d.started_at)
    if d.ended_at is not None:
        body["ended_at"] = iso(d.ended_at)
    if d.kind == "ship_to_ship":
        body["cargo_operation"] = "transfer"  # AIS shows the rendezvous, not the direction
    if d.previous:
        body["previous"] = dict(d.previous)
    body["provenance"] = {
        "method": d.method,
        "messages": d.refs[: s.provenance_refs],
        "message_count": d.message_count,
        "first_at": iso(d.started_at),
        "last_at": iso(last),
        "thresholds": {k: float(getattr(s, k)) for k in _THRESHOLDS.get(d.kind, ())},
        **({"detail": d.detail} if d.detail else {}),
    }
    return {
        "event_id": event_id(d),
        "event_type": "vessel_movement",
        "occurred_at": iso(d.started_at),
        "source": s.source,
        "vessel_movement": body,
    }

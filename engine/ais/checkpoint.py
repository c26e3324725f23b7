"""Derivation state in the store, written with every derived batch, so a restarted AIS worker
resumes where the last derived batch left it (issue 13).

One stream (a partition queue, ``ais`` or ``ais.<n>``) owns its rows in ``ais_derivation_state``:
``m<mmsi>`` per vessel (last position, port, open port visit, STS cell, open encounters of which it
is the lower MMSI, last static data), ``i<imo>`` per IMO (the MMSI last heard with it and when),
``stream`` (the stream's clock, next expiry scan, fragments of a multi-sentence message not yet
complete). ``save`` rewrites only what changed since the last save (the deriver marks vessels
and IMOs dirty), in the transaction that marks the batch ``derived``. A crash before that commit
leaves the batch ``received`` and the stored state at the end of the previous batch: the batch is
derived again from that state and gives the same events, whose ids are deterministic, so the
ingest records them as duplicates. The table's order of vessels (least recently heard first, for
the bound) is restored by last position time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.ais.derive import Deriver
from engine.ais.nmea import NmeaDecoder
from engine.ais.state import Encounter, PortVisit, VesselState
from engine.ais.tables import AisStateRow
from engine.storage.base import utcnow
from engine.storage.db import session_scope

STREAM_KEY = "stream"
_CHUNK = 500  # keys per DELETE ... IN (...)


def _encounter(e: Encounter) -> list[Any]:
    return [e.b, e.start_ts, e.last_ts, e.lat, e.lon, e.min_distance_m, e.n, e.refs]


def _vessel(mmsi: int, st: VesselState) -> dict[str, Any]:
    v = st.visit
    out: dict[str, Any] = {
        "t": st.last_ts,
        "lat": st.lat,
        "lon": st.lon,
        "sog": st.sog,
        "ref": st.ref,
        "port": st.port_id,
        "cell": st.sts_cell,
        "name": st.name,
        "imo": st.imo,
        "cs": st.call_sign,
    }
    if v is not None:
        out["visit"] = [v.area.id, v.enter_ts, v.last_ts, v.slow, v.n, v.refs]
    if st.partners:
        mine = [_encounter(e) for e in st.partners.values() if e.a == mmsi]
        if mine:
            out["enc"] = mine
    return out


def save(session: Session, stream: str, deriver: Deriver, decoder: NmeaDecoder, batch: str) -> int:
    """Write what changed since the last save; the number of rows written."""
    vessels = deriver.vessels
    keys = [f"m{m}" for m in vessels.dirty] + [f"i{i}" for i in deriver.dirty_imos]
    keys.append(STREAM_KEY)
    for start in range(0, len(keys), _CHUNK):
        session.execute(
            delete(AisStateRow).where(
                AisStateRow.stream == stream, AisStateRow.key.in_(keys[start : start + _CHUNK])
            )
        )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for mmsi in vessels.dirty:
        st = vessels.get(mmsi)
        if st is not None:
            rows.append({"key": f"m{mmsi}", "state": _vessel(mmsi, st)})
    for imo in deriver.dirty_imos:
        hit = deriver.imo_entry(imo)
        if hit is not None:
            rows.append({"key": f"i{imo}", "state": {"mmsi": hit[0], "at": hit[1]}})
    rows.append(
        {
            "key": STREAM_KEY,
            "state": {
                "high_ts": deriver.high_ts,
                "next_expiry": deriver.next_expiry,
                "imo_clock": deriver.imo_clock,
                "out_of_order": deriver.out_of_order,
                "partial": [[list(k), v[0], v[1], v[2]] for k, v in decoder.partial.items()],
            },
        }
    )
    if rows:
        session.execute(
            insert(AisStateRow),
            [{"stream": stream, "batch_id": batch, "updated_at": now, **r} for r in rows],
        )
    vessels.dirty.clear()
    deriver.dirty_imos.clear()
    return len(rows)


def load(stream: str, deriver: Deriver, decoder: NmeaDecoder) -> int:
    """Restore a fresh deriver and decoder from the stream's rows; the number of vessels."""
    with session_scope() as s:
        rows = [
            (r.key, r.state)
            for r in s.scalars(select(AisStateRow).where(AisStateRow.stream == stream))
        ]
    areas = {a.id: a for a in deriver.ports.areas}
    vessels: list[tuple[float, int, VesselState, dict[str, Any]]] = []
    imos: list[tuple[int, str, int]] = []
    for key, data in rows:
        if key == STREAM_KEY:
            deriver.high_ts = float(data["high_ts"])
            deriver.next_expiry = float(data["next_expiry"])
            deriver.imo_clock = int(data["imo_clock"])
            deriver.out_of_order = int(data["out_of_order"])
            decoder.partial.update(
                {
                    (k[0], k[1], k[2], int(k[3])): (ts, ref, list(p))
                    for k, ts, ref, p in data["partial"]
                }
            )
        elif key[0] == "i":
            imos.append((int(data["at"]), key[1:], int(data["mmsi"])))
        else:
            st = VesselState(
                last_ts=data["t"],
                lat=data["lat"],
                lon=data["lon"],
                sog=data["sog"],
                ref=data["ref"],
                port_id=data["port"],
                sts_cell=data["cell"],
                name=data["name"],
                imo=data["imo"],
                call_sign=data["cs"],
            )
            visit = data.get("visit")
            if visit is not None and visit[0] in areas:
                st.visit = PortVisit(
                    areas[visit[0]], visit[1], visit[2], visit[3], visit[4], list(visit[5])
                )
            when = data["t"] if data["t"] is not None else float("-inf")
            vessels.append((when, int(key[1:]), st, data))
    vessels.sort(key=lambda x: (x[0], x[1]))
    table = deriver.vessels.by_mmsi
    for _, mmsi, st, _ in vessels:
        table[mmsi] = st
        if st.visit is not None:
            deriver.restore_visit(mmsi)
        if st.sts_cell is not None:
            deriver.restore_slow(mmsi, st.sts_cell)
    for _, mmsi, _, data in vessels:
        for b, start, last, lat, lon, dist, n, refs in data.get("enc", ()):
            deriver.restore_encounter(
                Encounter(mmsi, b, start, last, lat, lon, dist, n, list(refs))
            )
    imos.sort()
    deriver.restore_imos(OrderedDict((imo, (mmsi, at)) for at, imo, mmsi in imos))
    deriver.vessels.dirty.clear()
    deriver.dirty_imos.clear()
    return len(vessels)

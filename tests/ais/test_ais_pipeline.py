"""Raw AIS through the ingest path: stored first, derived, stored as events, decided by the
rule pack (real database, real rules; the decisions are the existing rules' own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.ais.cli import ingest_file
from engine.ais.synthetic import scenario_lines
from engine.ais.tables import AisBatchRow
from engine.storage import repository
from engine.storage.db import session_scope
from engine.storage.tables import EventRow


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored(kind: str) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.scalars(select(EventRow).where(EventRow.event_id.like(f"ais:{kind}:%"))).all()
        return [repository.event_with_decision(r.event_id) or {} for r in rows]


def rule_ids(found: dict[str, Any]) -> set[str]:
    decision = found.get("decision") or {}
    return {v["rule_id"] for v in decision.get("violations", [])}


def test_lighthouse_winmore_sts_is_flagged_under_2375_op11(db: None, tmp_path: Path) -> None:
    path = write(tmp_path, "lw.nmea", scenario_lines("lighthouse_winmore"))
    out = ingest_file(path, mode="decide")
    assert out["totals"]["accepted"] == 1 and out["decided"] == 1
    (sts,) = stored("ship_to_ship")
    body = (
        sts["event"]["vessel_movement"]
        if "vessel_movement" in sts["event"]
        else sts["event"]["raw"]["vessel_movement"]
    )
    assert {body["vessel"]["name"], body["counterpart_vessel"]["name"]} == {
        "SAM JONG 2",
        "LIGHTHOUSE WINMORE",
    }
    assert sts["decision"]["status"] == "flagged"
    assert "UNSCR-2375-OP11" in rule_ids(sts)
    # provenance points into the stored raw batch
    ref = body["provenance"]["messages"][0]
    batch, line = ref.split("#")
    with session_scope() as s:
        row = s.get(AisBatchRow, batch)
        assert row is not None and row.status == "derived"
        assert row.body.split("\n")[int(line) - 1].startswith("\\c:")


def test_reingesting_the_same_file_adds_nothing(db: None, tmp_path: Path) -> None:
    path = write(tmp_path, "lw.nmea", scenario_lines("lighthouse_winmore"))
    ingest_file(path, mode="decide")
    again = ingest_file(path, mode="decide")
    assert again["totals"].get("batches_known") == 1 and again["totals"].get("accepted", 0) == 0
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 1


def test_port_call_by_a_designated_vessel_is_flagged_under_2270_op22(
    db: None, tmp_path: Path
) -> None:
    ingest_file(write(tmp_path, "dpc.nmea", scenario_lines("designated_port_call")), mode="decide")
    (call,) = stored("port_call")
    assert call["decision"]["status"] == "flagged"
    assert "UNSCR-2270-OP22" in rule_ids(call)


def test_rajin_dunay_shuttle_stores_calls_at_najin(db: None, tmp_path: Path) -> None:
    out = ingest_file(write(tmp_path, "rd.nmea", scenario_lines("rajin_dunay")), mode="decide")
    assert out["totals"].get("invalid", 0) == 0
    calls = stored("port_call")
    ports = sorted(
        (c["event"].get("vessel_movement") or c["event"]["raw"]["vessel_movement"])["port"].get(
            "locode", ""
        )
        for c in calls
    )
    assert ports.count("KPNJN") == 4
    assert all(c["decision"] is not None for c in calls + stored("ais_gap"))


def test_bad_lines_are_findings_and_the_rest_goes_through(db: None, tmp_path: Path) -> None:
    lines = scenario_lines("lighthouse_winmore")
    lines[10:10] = [
        "garbage",
        "!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*00",
        "\\c:1\\!AIVDM,2,2,9,A,0000,2*00",
    ]
    out = ingest_file(write(tmp_path, "bad.nmea", lines), mode="decide")
    assert out["problems"] == {"nmea_invalid": 1, "nmea_checksum": 2}
    assert out["totals"]["accepted"] == 1
    with session_scope() as s:
        (row,) = s.scalars(select(AisBatchRow)).all()
        pointers = [f["pointer"] for f in (row.summary or {})["findings"]]
    assert pointers == [f"{row.id}#11", f"{row.id}#12", f"{row.id}#13"]


def test_decoded_json_input_derives_the_same_encounter(db: None, tmp_path: Path) -> None:
    from engine.ais.nmea import NmeaDecoder
    from engine.ais.records import PositionReport

    decoded = NmeaDecoder().decode(scenario_lines("lighthouse_winmore"), "x")
    rows = [
        {"mmsi": r.mmsi, "ts": r.ts, "lat": r.lat, "lon": r.lon, "sog": r.sog}
        if isinstance(r, PositionReport)
        else {"mmsi": r.mmsi, "ts": r.ts, "shipname": r.name, "imo": r.imo}
        for r in decoded.reports
    ]
    path = write(tmp_path, "lw.ndjson", [json.dumps(r) for r in rows])
    ingest_file(path, mode="decide")
    (sts,) = stored("ship_to_ship")
    assert "UNSCR-2375-OP11" in rule_ids(sts)


def test_queue_task_stores_then_derives_and_publishes(db: None, broker_url: str) -> None:
    from engine.ais.tasks import ais_ingest_raw

    out = ais_ingest_raw("\n".join(scenario_lines("gap")))
    assert out["events"]["accepted"] == 1
    (gap,) = stored("ais_gap")
    assert gap["event"] is not None
    assert ais_ingest_raw({"not": "lines"}) == {}  # recorded as a rejection, not raised


def test_stored_batches_are_queued_on_the_ais_queue_not_sanctions(
    db: None, broker_url: str
) -> None:
    import base64
    import uuid

    from pipeline_support import redis_client

    from engine.ais import batches
    from engine.ais.queueing import AIS_QUEUE, publish_batches

    stored = batches.store_batch([f"garbage {uuid.uuid4()}"], channel="cli")
    assert publish_batches([stored.id])
    client = redis_client(broker_url)
    mine = [
        item
        for item in client.lrange(AIS_QUEUE, 0, -1)
        if stored.id in base64.b64decode(json.loads(item)["body"]).decode()
    ]
    try:
        assert len(mine) == 1
        assert json.loads(mine[0])["headers"]["task"] == "sanctions.ais_derive"
    finally:
        for item in mine:
            client.lrem(AIS_QUEUE, 0, item)
    assert batches.underived_ids() == [stored.id]


def test_queue_mode_with_partitions_stores_and_queues_each_partition_on_its_own_queue(
    db: None, broker_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    import base64
    import zlib

    from pipeline_support import redis_client

    from engine.ais.queueing import mmsi_of_line, partition_of_batch
    from engine.ais.settings import get_ais_settings

    monkeypatch.setenv("SANCTIONS_AIS_PARTITIONS", "3")
    get_ais_settings.cache_clear()
    try:
        path = write(tmp_path, "rd.nmea", scenario_lines("rajin_dunay"))
        out = ingest_file(path, mode="queue")
        assert out["totals"]["queued"] == 1
        client = redis_client(broker_url)
        with session_scope() as s:
            rows = s.scalars(select(AisBatchRow)).all()
        assert len(rows) >= 2
        for row in rows:
            parts = {
                zlib.crc32(str(m).encode()) % 3
                for m in map(mmsi_of_line, row.body.split("\n"))
                if m is not None
            }
            (part,) = parts  # one partition's vessels per batch
            assert partition_of_batch(row.id) == part
            queued = [
                item
                for item in client.lrange(f"ais.{part}", 0, -1)
                if row.id in base64.b64decode(json.loads(item)["body"]).decode()
            ]
            assert len(queued) == 1
            client.lrem(f"ais.{part}", 0, queued[0])
    finally:
        get_ais_settings.cache_clear()

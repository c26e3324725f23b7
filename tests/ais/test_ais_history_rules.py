"""The issue-13 integration test: synthetic tracks encoded as real NMEA go through the bulk command
(stored raw batches -> derived vessel_movement events -> the ingest -> decisions, with the real
rule pack and vessel history), and the history rules fire from the derived events with evidence
naming the earlier events they relied on; replays of those decisions stay identical after later
events arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.ais.cli import ingest_file
from engine.ais.synthetic import MEET, Dark, Dwell, Rename, Sail, Ship, nmea_lines
from engine.pipeline.ingest import ingest_batch
from engine.storage.db import session_scope
from engine.storage.tables import DecisionRow, EventRow

LW_IMO = "9473365"
SHANGHAI = (31.36, 121.60)
DALIAN = (38.93, 121.65)


@cache
def story() -> tuple[str, ...]:
    """The Lighthouse Winmore pattern (illustrative dates: after 2397 (22 Dec 2017) is in force):
    LIGHTHOUSE WINMORE takes cargo from SAM JONG 2 at sea, calls at Shanghai,
    is renamed, then re-flagged twice (new MMSIs, same IMO); another tanker goes dark off Nampho
    and then calls at Dalian."""
    lw = Ship(477_123_400, "LIGHTHOUSE WINMORE", 30.40, 123.30, imo=LW_IMO, call_sign="VRHY7")
    lw.legs = [
        Sail(MEET[0], MEET[1], 11.0),
        Dwell(6.0),  # the rendezvous
        Sail(31.30, 121.75, 11.0),
        Sail(*SHANGHAI, 4.0),
        Dwell(10.0),  # the call at Shanghai
        Sail(31.0, 122.6, 11.0),
        Rename(name="WINMORE STAR"),  # a new name shortly after the flagged transfer
        Sail(30.5, 123.5, 11.0),
        Rename(mmsi=352_001_234, call_sign="3EXY7"),  # Panama MID: the first flag change
        Sail(29.5, 124.5, 11.0),
        Dwell(4.0),
        Rename(mmsi=671_001_234, call_sign="5VAB1"),  # Togo MID: the second
        Sail(29.0, 125.0, 11.0),
    ]
    sj = Ship(445_112_000, "SAM JONG 2", 31.60, 123.80, imo="7408873", call_sign="HMYD")
    sj.legs = [Sail(MEET[0] + 0.0006, MEET[1] + 0.0004, 10.0), Dwell(6.5), Sail(32.3, 124.2, 10.0)]
    dark = Ship(667_002_222, "RYE SONG", 37.80, 124.60, imo="9216078", call_sign="9LB2222")
    dark.legs = [
        Sail(38.55, 125.05, 10.0),  # ~30 km off Nampho
        Dark(20.0),  # silent 20 h, heard again where it went dark
        Sail(38.80, 122.40, 10.0),
        Sail(*DALIAN, 5.0),
        Dwell(8.0),  # the call at Dalian
        Sail(38.6, 122.2, 10.0),
    ]
    return tuple(nmea_lines([lw, sj, dark], datetime(2018, 1, 15, tzinfo=UTC)))


def events_and_decisions() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """event id -> (stored event, {rule id: violation})."""
    with session_scope() as s:
        events = {r.event_id: r.raw for r in s.scalars(select(EventRow))}
        decisions = {r.event_id: r.violations for r in s.scalars(select(DecisionRow))}
    return {k: (ev, {v["rule_id"]: v for v in decisions.get(k) or []}) for k, ev in events.items()}


def of_kind(found: dict[str, Any], kind: str, mmsi: str | None = None) -> list[str]:
    return sorted(
        k
        for k, (ev, _) in found.items()
        if (ev.get("vessel_movement") or {}).get("kind") == kind
        and (mmsi is None or ev["vessel_movement"]["vessel"].get("mmsi") == mmsi)
    )


def relied_on(violation: dict[str, Any]) -> list[str]:
    return [e["value"] for e in violation["evidence"] if str(e["path"]).startswith("history.")]


def test_history_rules_fire_from_derived_ais_events_and_replay_identically(
    db: None, tmp_path: Path
) -> None:
    path = tmp_path / "story.nmea"
    path.write_text("\n".join(story()) + "\n", encoding="ascii")
    # small batches: a batch's events are decided together, so each earlier behaviour is decided
    # (as a stream would have it) before the ones after it
    out = ingest_file(path, mode="decide", size=120)
    assert out["totals"].get("invalid", 0) == 0, out
    found = events_and_decisions()

    (sts,) = of_kind(found, "ship_to_ship")
    assert "UNSCR-2375-OP11" in found[sts][1]

    # a port call after flagged prior activity: 2397 OP9
    (call,) = [k for k in of_kind(found, "port_call", "477123400") if k.endswith(":CNSHA")]
    assert relied_on(found[call][1]["UNSCR-2397-OP9-PORT"]) == [sts]

    # identity laundering: a new name shortly after the flagged transfer
    (renamed,) = of_kind(found, "name_change")
    assert found[renamed][0]["vessel_movement"]["previous"]["name"] == "LIGHTHOUSE WINMORE"
    assert sts in relied_on(found[renamed][1]["UNSCR-2397-OP12-IDENTITY"])

    # flag hopping: the second re-flag within 12 months
    first, second = sorted(of_kind(found, "flag_change"), key=lambda k: k.split(":")[3])
    assert first in relied_on(found[second][1]["UNSCR-2397-OP12-FLAG-HOPPING"])

    # a dark period near DPRK waters, then a port call: 2397 OP9 risk indicator
    (gap,) = of_kind(found, "ais_gap", "667002222")
    (dalian,) = of_kind(found, "port_call", "667002222")
    assert set(relied_on(found[dalian][1]["UNSCR-2397-OP9-DARK"])) == {gap}  # start and end

    # the STS chain: a later discharge of coal by the vessel that took cargo from SAM JONG 2
    # (pushed as an ordinary event: AIS shows no cargo)
    discharge = {
        "event_id": "push-lw-discharge",
        "event_type": "vessel_movement",
        "occurred_at": "2018-02-20T00:00:00Z",
        "source": "port-agent",
        "vessel_movement": {
            "kind": "port_call",
            "vessel": {"name": "WINMORE STAR", "imo": LW_IMO},
            "port": {"country": "VN", "name": "Cam Pha"},
            "cargo_operation": "discharge",
            "cargo": [{"hs_code": "270112", "description": "anthracite coal"}],
        },
    }
    from engine.pipeline.decide import decide_stored

    def decide_here(ids: list[str]) -> bool:
        decide_stored(ids)
        return True

    (result,) = ingest_batch([discharge], channel="cli", publish=decide_here)
    assert result.status == "accepted", result
    found = events_and_decisions()
    chain = found["push-lw-discharge"][1]["UNSCR-2371-OP8-STS-CHAIN"]
    assert relied_on(chain) == [sts]

    # replays after the later events are identical
    from engine.replay import replay
    from engine.vessels.history import StoredHistory, VesselHistory

    for event_id in (call, renamed, second, dalian):
        replayed = replay(event_id, history=VesselHistory(StoredHistory()))
        assert replayed.identical, (event_id, replayed.diff)


RG2_IMO = "7640378"  # RYONG GANG 2, on the designated-vessel register since 2016-03-02


def identity_story() -> list[str]:
    """Two identity behaviours shown only by AIS static data (message 5): a hull broadcasting the
    IMO of a designated vessel under a name the register does not know, and an MMSI whose
    reported IMO changes (one hull using another's identity)."""
    alias = Ship(511_100_200, "SEA GLORY 9", 30.90, 122.90, imo=RG2_IMO, call_sign="T8AB2")
    alias.legs = [
        Sail(31.30, 121.75, 11.0),
        Sail(*SHANGHAI, 4.0),
        Dwell(10.0),
        Sail(31.0, 122.6, 11.0),
    ]
    swap = Ship(355_200_300, "OCEAN BRIGHT", 38.20, 123.40, imo="9074729", call_sign="3FQZ8")
    swap.legs = [
        Sail(38.80, 122.40, 10.0),
        Sail(*DALIAN, 5.0),
        Dwell(8.0),  # a call at Dalian under its first identity
        Sail(38.6, 122.2, 10.0),
        Rename(imo="9102124"),  # the same MMSI now reports another IMO
        Sail(38.2, 121.9, 10.0),
    ]
    return nmea_lines([alias, swap], datetime(2018, 1, 15, tzinfo=UTC))


def test_identity_rules_fire_from_derived_ais_static_data(db: None, tmp_path: Path) -> None:
    path = tmp_path / "identity.nmea"
    path.write_text("\n".join(identity_story()) + "\n", encoding="ascii")
    out = ingest_file(path, mode="decide", size=120)
    assert out["totals"].get("invalid", 0) == 0, out
    found = events_and_decisions()

    # a designated hull under another name (2321 OP12): its derived port call at Shanghai
    (call,) = [k for k in of_kind(found, "port_call", "511100200") if k.endswith(":CNSHA")]
    assert found[call][0]["vessel_movement"]["vessel"]["imo"] == RG2_IMO
    assert "UNSCR-2321-OP12-ALIAS" in found[call][1]

    # an identity that conflicts with what was seen before: the earlier IMO's event is named
    swapped = [
        k
        for k in found
        if k.startswith("ais:")
        and "UNSCR-2397-OP9-IDENTITY-CONFLICT" in found[k][1]
        and found[k][0]["vessel_movement"]["vessel"].get("mmsi") == "355200300"
    ]
    assert swapped, sorted(k for k in found if "355200300" in k)
    (dalian,) = of_kind(found, "port_call", "355200300")
    assert found[dalian][0]["vessel_movement"]["vessel"]["imo"] == "9074729"
    assert not found[dalian][1]  # nothing wrong with the first identity
    (conflict,) = swapped
    assert found[conflict][0]["vessel_movement"]["vessel"]["imo"] == "9102124"
    assert dalian in relied_on(found[conflict][1]["UNSCR-2397-OP9-IDENTITY-CONFLICT"])
    # and the other hull, which kept its identity, raises no identity conflict
    assert not any(
        "UNSCR-2397-OP9-IDENTITY-CONFLICT" in v
        for k, (ev, v) in found.items()
        if (ev.get("vessel_movement") or {}).get("vessel", {}).get("mmsi") == "511100200"
    )

    from engine.replay import ensure_pack_stored, replay
    from engine.vessels.history import StoredHistory, VesselHistory

    # the pipeline stores its pack once per process; this test's database is a fresh one
    ensure_pack_stored()
    from engine.screening import default_screener

    screener = default_screener()  # the replay pins it to each decision's list snapshot
    for event_id in (call, conflict):
        replayed = replay(event_id, screener=screener, history=VesselHistory(StoredHistory()))
        assert replayed.identical, (event_id, replayed.diff)

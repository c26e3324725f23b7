"""Each behaviour derived from synthetic NMEA (encoded by pyais), with the thresholds' edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.ais.derive import Derived, Deriver
from engine.ais.emit import to_event
from engine.ais.nmea import NmeaDecoder
from engine.ais.settings import AisSettings
from engine.ais.synthetic import Dark, Dwell, Sail, Ship, nmea_lines, scenario_lines
from engine.models.validation import validate_event


def derive(lines: list[str], settings: AisSettings | None = None) -> list[Derived]:
    decoded = NmeaDecoder().decode(lines, "t")
    assert decoded.problems == []
    d = Deriver(settings)
    return d.feed(decoded.reports) + d.flush()


def kinds(derived: list[Derived]) -> list[str]:
    return sorted(x.kind for x in derived)


def hours(a: float, b: float | None) -> float:
    assert b is not None
    return (b - a) / 3600


def test_lighthouse_winmore_sam_jong_2_sts() -> None:
    (sts,) = derive(scenario_lines("lighthouse_winmore"))
    assert sts.kind == "ship_to_ship"
    names = {sts.vessel.name, sts.counterpart.name if sts.counterpart else None}
    assert names == {"LIGHTHOUSE WINMORE", "SAM JONG 2"}
    flags = {sts.vessel.flag, sts.counterpart.flag if sts.counterpart else None}
    assert flags == {"HK", "KP"}  # from the MIDs 477 and 445
    # LIGHTHOUSE WINMORE arrives after ~3.1 h (63 km at 11 kn) and stays 6 h; SAM JONG 2 after
    # ~4.2 h (78 km at 10 kn): alongside from ~4.2 h to ~9.1 h
    assert 4.5 <= hours(sts.started_at, sts.ended_at) <= 5.3
    assert datetime.fromtimestamp(sts.started_at, UTC).date().isoformat() == "2017-10-19"
    assert sts.position is not None and sts.position == pytest.approx((30.95, 123.5), abs=0.01)
    assert sts.message_count > 50 and len(sts.refs) == 20


def test_rajin_dunay_shuttle_port_calls_and_dark_passages() -> None:
    derived = derive(scenario_lines("rajin_dunay"))
    calls = [(d.vessel.name, d.port.id) for d in derived if d.kind == "port_call" and d.port]
    # ANGARA makes two round trips, LADY R and MARIA one each: Dunay and Rajin at every turn
    assert sorted(calls) == sorted(
        [("ANGARA", "RU-DUNAY")] * 2
        + [("ANGARA", "KPNJN")] * 2
        + [("LADY R", "RU-DUNAY"), ("LADY R", "KPNJN"), ("MARIA", "RU-DUNAY"), ("MARIA", "KPNJN")]
    )
    rajin = [d for d in derived if d.kind == "port_call" and d.port and d.port.id == "KPNJN"]
    assert all(d.port and d.port.country == "KP" and d.vessel.flag == "RU" for d in rajin)
    assert all(29 <= hours(d.started_at, d.ended_at) <= 31 for d in rajin)  # 30 h alongside
    gaps = [d for d in derived if d.kind == "ais_gap"]
    assert len(gaps) == 8 and all(15.5 <= hours(g.started_at, g.ended_at) <= 16.5 for g in gaps)


def test_port_approach_is_one_call_with_its_dwell() -> None:
    (call,) = derive(scenario_lines("port_approach"))
    assert call.kind == "port_call" and call.port and call.port.locode == "CNSHA"
    # inside the 15 km geofence: ~2 h of approach at 4 kn (the last 14 km), 8 h at the berth,
    # ~0.6 h out at 12 kn
    assert 10 <= hours(call.started_at, call.ended_at) <= 11


def test_loitering_rendezvous_and_the_duration_threshold() -> None:
    lines = scenario_lines("loiter_rendezvous")
    (sts,) = derive(lines)
    assert {sts.vessel.name, sts.counterpart and sts.counterpart.name} == {
        "OCEAN ROVER",
        "BLUE PEARL",
    }
    overlap = hours(sts.started_at, sts.ended_at)
    assert derive(lines, AisSettings(sts_min_duration_s=int(overlap * 3600) + 600)) == []


def test_no_sts_inside_or_near_a_port() -> None:
    start = datetime(2019, 5, 2, tzinfo=UTC)
    a = Ship(413_000_001, "A", 31.30, 121.75, legs=[Dwell(5.0)])  # Shanghai approaches
    b = Ship(413_000_002, "B", 31.3003, 121.7502, legs=[Dwell(5.0)])
    assert [d for d in derive(nmea_lines([a, b], start)) if d.kind == "ship_to_ship"] == []


def test_no_sts_when_far_apart_or_fast() -> None:
    start = datetime(2019, 5, 2, tzinfo=UTC)
    a = Ship(413_000_001, "A", 28.0, 125.0, legs=[Dwell(5.0)])
    b = Ship(413_000_002, "B", 28.006, 125.0, legs=[Dwell(5.0)])  # ~670 m apart
    assert derive(nmea_lines([a, b], start)) == []
    c = Ship(413_000_003, "C", 28.0, 125.0, legs=[Sail(28.5, 125.0, 8.0)])
    d = Ship(413_000_004, "D", 28.0003, 125.0, legs=[Sail(28.5003, 125.0, 8.0)])
    assert derive(nmea_lines([c, d], start)) == []


def test_gap_threshold() -> None:
    (g,) = derive(scenario_lines("gap"))
    assert g.kind == "ais_gap" and 19.9 <= hours(g.started_at, g.ended_at) <= 20.1
    assert g.position == pytest.approx((38.0, 124.4), abs=1e-3)
    assert g.end_position == pytest.approx((38.4, 124.6), abs=1e-3)
    assert derive(scenario_lines("gap"), AisSettings(gap_min_s=21 * 3600)) == []


def test_silence_at_berth_is_not_a_gap() -> None:
    start = datetime(2019, 5, 2, tzinfo=UTC)
    ship = Ship(413_000_009, "BERTHED", 31.36, 121.60, legs=[Dwell(3.0), Dark(20.0), Dwell(3.0)])
    assert kinds(derive(nmea_lines([ship], start))) == ["port_call"]


def test_name_change_then_reflag_under_a_dprk_mmsi() -> None:
    derived = derive(scenario_lines("name_change"))
    assert kinds(derived) == ["ais_gap", "flag_change", "name_change"]
    name = next(d for d in derived if d.kind == "name_change")
    assert (name.vessel.name, name.previous) == ("KUM UN SAN 3", {"name": "NEW REGENT"})
    flag = next(d for d in derived if d.kind == "flag_change")
    assert flag.vessel.flag == "KP" and flag.vessel.imo == "8804751"
    assert flag.previous == {"mmsi": "667000444", "flag": "SL"}


def test_derived_events_are_valid_v1_with_deterministic_ids() -> None:
    derived = derive(scenario_lines("rajin_dunay")) + derive(scenario_lines("name_change"))
    events = [to_event(d) for d in derived]
    for raw in events:
        event, errors = validate_event(raw, strict=True)
        assert event is not None, errors
        assert event.vessel_movement is not None and event.vessel_movement.provenance is not None
    assert len({e["event_id"] for e in events}) == len(events)
    again = [to_event(d) for d in derive(scenario_lines("rajin_dunay"))]
    assert [e["event_id"] for e in again] == [e["event_id"] for e in events[: len(again)]]


def test_memory_is_bounded_by_max_vessels() -> None:
    start = datetime(2019, 5, 2, tzinfo=UTC)
    ships = [
        Ship(412_000_000 + i, f"S{i}", 20 + i * 0.01, 130.0, legs=[Sail(20 + i * 0.01, 131.0, 12)])
        for i in range(30)
    ]
    decoded = NmeaDecoder().decode(nmea_lines(ships, start, interval_s=600), "t")
    d = Deriver(AisSettings(max_vessels=10))
    d.feed(decoded.reports)
    assert len(d.vessels) == 10


def test_a_vessel_silent_in_port_has_its_call_closed_by_the_stream_clock() -> None:
    start = datetime(2023, 9, 1, tzinfo=UTC)
    berthed = Ship(273_456_100, "ANGARA", 42.245, 130.305, legs=[Dwell(5.0)])  # then silent
    other = Ship(273_000_999, "CLOCK", 30.0, 140.0, legs=[Sail(31.0, 141.0, 1.0)])  # ~30 h
    decoded = NmeaDecoder().decode(nmea_lines([berthed, other], start, interval_s=900), "t")
    d = Deriver()
    during = d.feed(decoded.reports[: len(decoded.reports) // 4])
    assert during == []  # still at the berth
    d.feed(decoded.reports[len(decoded.reports) // 4 :])
    (call,) = d.expire()  # ANGARA silent 12 h by the other vessel's clock: its call is closed
    assert call.kind == "port_call" and call.port and call.port.id == "KPNJN"
    assert call.ended_at is not None and 4.5 <= hours(call.started_at, call.ended_at) <= 5.1


def test_partition_by_mmsi_is_stable() -> None:
    # crc32("445112000") % 4, computed by zlib independently of Python's salted hash
    import zlib

    from engine.ais.queueing import partition_of, queue_name

    assert partition_of(445112000, 4) == zlib.crc32(b"445112000") % 4
    assert queue_name(3, 4) == "ais.3" and queue_name(0, 1) == "ais"


def test_a_stream_split_by_partition_keeps_each_vessel_and_each_message_whole() -> None:
    import zlib

    from pyais import decode as pyais_decode

    from engine.ais.queueing import split_by_partition
    from engine.ais.synthetic import scenario_lines

    lines = scenario_lines("rajin_dunay") + scenario_lines("lighthouse_winmore")
    parts = split_by_partition(lines, 4)
    assert sorted(line for part in parts.values() for line in part) == sorted(lines)
    assert len(parts) > 1
    for k, mine in parts.items():
        i = 0
        while i < len(mine):
            sentence = mine[i][mine[i].index("!") :]
            count = int(sentence.split(",")[1])
            group = [m[m.index("!") :] for m in mine[i : i + count]]  # fragments stay together
            msg = pyais_decode(*group)
            assert zlib.crc32(str(msg.mmsi).encode()) % 4 == k
            i += count

"""NMEA and JSON decoding: lazy reads agree with pyais's full decode; bad input is a finding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import decode as pyais_decode
from pyais import encode_dict

from engine.ais.json_input import decode_json
from engine.ais.mid import flag_of
from engine.ais.nmea import NmeaDecoder
from engine.ais.records import PositionReport, StaticReport
from engine.ais.synthetic import tag

T0 = 1508371200  # 2017-10-19T00:00:00Z


@pytest.mark.parametrize(
    "data",
    [
        {"type": 1, "mmsi": 445112000, "lat": 30.95, "lon": 123.5, "speed": 0.3},
        {"type": 3, "mmsi": 477123400, "lat": -33.4567, "lon": -70.6543, "speed": 14.2},
        {"type": 18, "mmsi": 273456100, "lat": 42.245, "lon": 130.305, "speed": 8.1},
        {"type": 27, "mmsi": 351000001, "lat": 12.5, "lon": 44.9, "speed": 11},
    ],
)
def test_position_fields_match_pyais_full_decode(data: dict) -> None:
    sentences = encode_dict(data, talker_id="AI", sentence_type="VDM")
    full = pyais_decode(*sentences)
    got = NmeaDecoder().decode([tag(T0) + sentences[0]], "b").reports
    assert len(got) == 1 and isinstance(got[0], PositionReport)
    assert got[0].mmsi == full.mmsi == data["mmsi"]
    assert got[0].lat == pytest.approx(full.lat, abs=1e-5)
    assert got[0].lon == pytest.approx(full.lon, abs=1e-5)
    assert got[0].sog == pytest.approx(full.speed)
    assert got[0].ts == T0


def test_multi_fragment_static_report_with_leading_timestamp() -> None:
    s = encode_dict(
        {
            "type": 5,
            "mmsi": 445112000,
            "imo": 7408873,
            "shipname": "SAM JONG 2",
            "callsign": "HMYD",
        },
        talker_id="AI",
        sentence_type="VDM",
        seq_id=4,
    )
    assert len(s) == 2
    lines = [f"2017-10-19T06:00:00Z {s[0]}", s[1]]
    out = NmeaDecoder().decode(lines, "b")
    assert out.problems == []
    (rep,) = out.reports
    assert isinstance(rep, StaticReport)
    assert (rep.mmsi, rep.imo, rep.name, rep.call_sign) == (
        445112000,
        "7408873",
        "SAM JONG 2",
        "HMYD",
    )
    assert rep.ts == T0 + 6 * 3600
    assert rep.ref == "b#1"


def test_fragments_assemble_across_calls_and_orphans_are_findings() -> None:
    s = encode_dict({"type": 5, "mmsi": 273456100, "shipname": "ANGARA"}, seq_id=1)
    dec = NmeaDecoder()
    first = dec.decode([tag(T0) + s[0]], "b1")
    second = dec.decode([s[1], s[1]], "b2")
    assert first.reports == [] and len(second.reports) == 1
    assert [p.type for p in second.problems] == ["fragment_missing"]
    dec.decode([tag(T0) + s[0]], "b3")
    assert [p.type for p in dec.pending()] == ["fragment_missing"]


def test_bad_sentences_are_findings_not_errors() -> None:
    good = tag(T0) + encode_dict({"type": 1, "mmsi": 445112000, "lat": 1, "lon": 2})[0]
    bad_checksum = good[:-2] + ("00" if not good.endswith("00") else "11")
    lines = [
        "garbage",
        bad_checksum,
        "!AIVDM,1,1,,A,,0*26",
        encode_dict({"type": 1, "mmsi": 445112000, "lat": 1, "lon": 2})[0],  # no time
        "\\c:123",  # unclosed tag block
        "!GPGGA,1,2,3*00",
        good,
    ]
    out = NmeaDecoder().decode(lines, "b")
    assert [p.ref for p in out.problems] == ["b#1", "b#2", "b#3", "b#4", "b#5", "b#6"]
    assert {p.type for p in out.problems} >= {"nmea_invalid", "nmea_checksum", "no_time"}
    assert [r.ref for r in out.reports] == ["b#7"]


def test_unused_message_types_are_skipped_and_counted() -> None:
    base_station = encode_dict({"type": 4, "mmsi": 2734500, "lat": 43.1, "lon": 131.9})[0]
    out = NmeaDecoder().decode([tag(T0) + base_station], "b")
    assert out.reports == [] and out.problems == [] and out.skipped[4] == 1


def test_json_positions_and_static_data() -> None:
    lines = [
        '{"mmsi": 445112000, "ts": "2017-10-19T01:00:00Z", "lat": 30.95, "lon": 123.5, "sog": 0.2}',
        '{"mmsi": 445112000, "timestamp": 1508374800, "shipname": "SAM JONG 2", "imo": 7408873}',
        '{"mmsi": "x", "ts": 1}',
        "not json",
        '{"mmsi": 1, "ts": "2017-10-19T01:00:00"}',
    ]
    out = decode_json(lines, "j")
    pos, static = out.reports
    assert isinstance(pos, PositionReport) and pos.ts == T0 + 3600 and pos.sog == 0.2
    assert (
        isinstance(static, StaticReport) and static.imo == "7408873" and static.name == "SAM JONG 2"
    )
    assert [p.ref for p in out.problems] == ["j#3", "j#4", "j#5"]


def test_flag_from_mid() -> None:
    # ITU MIDs: 445 DPRK, 477 Hong Kong, 273 Russia, 667 Sierra Leone, 740 Falklands
    assert [flag_of(m) for m in (445112000, 477123400, 273456100, 667000444, 740000001)] == [
        "KP",
        "HK",
        "RU",
        "SL",
        "FK",
    ]
    assert flag_of(2734500) is None  # a base station, not a ship


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_checksum_fold_is_the_xor_of_every_byte(data: bytes) -> None:
    from functools import reduce
    from operator import xor

    from engine.ais.nmea import xor_bytes

    assert xor_bytes(data) == reduce(xor, data, 0)


@settings(max_examples=200, deadline=None)
@given(st.floats(20.0, 46.0), st.floats(115.0, 145.0))
def test_located_port_and_margin_agree_with_the_cell_lookups(lat: float, lon: float) -> None:
    """The open-sea shortcut and the cell cache answer what the string-cell lookups answer."""
    from engine.ais.ports import PortIndex, default_index

    index = default_index()
    cell = PortIndex.cell(lat, lon)
    area = index.port_at(cell)
    assert index.locate(lat, lon) == (area, area is not None or index.near_port(cell))


def test_located_port_and_margin_agree_around_ports() -> None:
    from engine.ais.ports import PortIndex, default_index

    index = default_index()
    seen = set()
    for lat0, lon0 in ((42.245, 130.305), (31.36, 121.60), (35.10, 129.05), (42.885, 132.36)):
        for i in range(-12, 13):
            for j in range(-12, 13):
                lat, lon = lat0 + i * 0.025, lon0 + j * 0.025
                cell = PortIndex.cell(lat, lon)
                area = index.port_at(cell)
                near = area is not None or index.near_port(cell)
                assert index.locate(lat, lon) == (area, near), (lat, lon)
                seen.add((area is not None, near))
    assert seen == {(True, True), (False, True), (False, False)}  # in, near, and away

"""Synthetic AIS tracks encoded as real NMEA (pyais's encoder), for tests, demos and the bench.

A ``Ship`` sails ``legs``: ``Sail`` to a point at a speed, ``Dwell`` (loiter, anchor or berth:
small drift at under half a knot), ``Dark`` (transponder off: no messages). Positions are class A
reports (type 1) every ``interval_s``; static data (type 5, two fragments) every
``static_every_s`` and whenever the ship's identity changes (``Rename``). Each sentence carries an
NMEA 4.10 tag block with its receive time (``\\c:<unix>*hh\\``). Deterministic for a seed.

Scenarios (``SCENARIOS``):
- ``lighthouse_winmore``: the Oct 2017 STS transfer of refined petroleum from LIGHTHOUSE WINMORE
  (Hong Kong flag) to the DPRK tanker SAM JONG 2 in the East China Sea (S/2018/171, the Panel of
  Experts' report; position and times illustrative, not the vessels' real tracks);
- ``rajin_dunay``: the 2023 shuttle of DPRK munitions between Rajin (Najin) and Dunay, Russia,
  by ANGARA, LADY R and MARIA (public reporting, e.g. RUSI "Open Source Findings" 2023): dark
  passages, calls at both ends;
- ``port_approach``, ``loiter_rendezvous``, ``gap``, ``name_change``: the generic behaviours;
- ``designated_port_call``: a 1718-listed vessel calling at a port outside the DPRK.
IMO numbers are given only where the rule pack's register or public reporting states them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from operator import xor

import h3
from pyais import encode_dict


@dataclass(frozen=True)
class Sail:
    lat: float
    lon: float
    knots: float


@dataclass(frozen=True)
class Dwell:
    hours: float
    knots: float = 0.2


@dataclass(frozen=True)
class Dark:
    hours: float
    lat: float | None = None  # where it is when it comes back (default: where it went dark)
    lon: float | None = None


@dataclass(frozen=True)
class Rename:
    name: str | None = None
    imo: str | None = None
    call_sign: str | None = None
    mmsi: int | None = None  # a new MMSI (a re-flag shows as a new MID)


Leg = Sail | Dwell | Dark | Rename


@dataclass
class Ship:
    mmsi: int
    name: str
    lat: float
    lon: float
    imo: str | None = None
    call_sign: str | None = None
    ship_type: int = 80  # tanker
    legs: list[Leg] = field(default_factory=list)


def tag(ts: float) -> str:
    body = f"c:{int(ts)}"
    return f"\\{body}*{reduce(xor, body.encode(), 0):02X}\\"


class Encoder:
    def __init__(self, interval_s: int = 300, static_every_s: int = 3600, seed: int = 7) -> None:
        self.interval_s = interval_s
        self.static_every_s = static_every_s
        self.rng = random.Random(seed)
        self._seq = 0

    def position(
        self, mmsi: int, ts: float, lat: float, lon: float, knots: float, course: float
    ) -> list[str]:
        lines = encode_dict(
            {
                "type": 1,
                "mmsi": mmsi,
                "status": 0 if knots > 1 else 1,
                "lat": round(lat, 5),
                "lon": round(lon, 5),
                "speed": round(min(knots, 102.2), 1),
                "course": round(course % 360, 1),
                "heading": int(course % 360),
                "second": int(ts) % 60,
            },
            talker_id="AI",
            sentence_type="VDM",
            radio_channel="A" if int(ts) % 2 else "B",
        )
        return [tag(ts) + lines[0], *lines[1:]]

    def static(self, ship: Ship, mmsi: int, ts: float) -> list[str]:
        self._seq = (self._seq + 1) % 10
        data: dict[str, str | int | float | bytes | bool] = {
            "type": 5,
            "mmsi": mmsi,
            "imo": int(ship.imo) if ship.imo else 0,
            "shipname": ship.name,
            "callsign": ship.call_sign or "",
            "ship_type": ship.ship_type,
        }
        lines = encode_dict(data, talker_id="AI", sentence_type="VDM", seq_id=self._seq)
        return [tag(ts) + lines[0], *lines[1:]]

    def track(self, ship: Ship, start: datetime) -> list[tuple[float, list[str]]]:
        """(time, sentences of one message) for the whole voyage."""
        out: list[tuple[float, list[str]]] = []
        ts = start.timestamp()
        lat, lon, mmsi = ship.lat, ship.lon, ship.mmsi
        next_static = ts
        course = 0.0

        def emit(knots: float) -> None:
            nonlocal next_static
            out.append((ts, self.position(mmsi, ts, lat, lon, knots, course)))
            if ts >= next_static:
                out.append((ts + 1, self.static(ship, mmsi, ts + 1)))
                next_static = ts + self.static_every_s

        emit(0.0)
        for leg in ship.legs:
            if isinstance(leg, Rename):
                ship.name = leg.name or ship.name
                ship.imo = leg.imo or ship.imo
                ship.call_sign = leg.call_sign or ship.call_sign
                mmsi = leg.mmsi or mmsi
                next_static = ts
            elif isinstance(leg, Dark):
                ts += leg.hours * 3600
                lat = leg.lat if leg.lat is not None else lat
                lon = leg.lon if leg.lon is not None else lon
                emit(0.0)
            elif isinstance(leg, Dwell):
                end = ts + leg.hours * 3600
                base_lat, base_lon = lat, lon
                while ts + self.interval_s <= end:
                    ts += self.interval_s
                    lat = base_lat + self.rng.uniform(-0.0002, 0.0002)
                    lon = base_lon + self.rng.uniform(-0.0002, 0.0002)
                    emit(self.rng.uniform(0.0, min(leg.knots * 2, 0.9)))
            else:
                metres = h3.great_circle_distance((lat, lon), (leg.lat, leg.lon), unit="m")
                seconds = metres / (leg.knots * 1852 / 3600)
                steps = max(1, int(seconds // self.interval_s))
                course = math.degrees(math.atan2(leg.lon - lon, leg.lat - lat))
                lat0, lon0 = lat, lon
                for i in range(1, steps + 1):
                    ts += seconds / steps
                    lat = lat0 + (leg.lat - lat0) * i / steps
                    lon = lon0 + (leg.lon - lon0) * i / steps
                    emit(leg.knots)
        return out


def nmea_lines(ships: list[Ship], start: datetime, **kw: int) -> list[str]:
    """Every ship's sentences, merged in time order (a receiver's log)."""
    enc = Encoder(**kw)
    merged: list[tuple[float, int, list[str]]] = []
    for n, ship in enumerate(ships):
        merged += [(ts, n, lines) for ts, lines in enc.track(ship, start)]
    merged.sort(key=lambda x: (x[0], x[1]))
    return [line for _, _, lines in merged for line in lines]


# -- scenarios -----------------------------------------------------------------------------------

MEET = (30.95, 123.50)  # East China Sea, ~190 km east of Shanghai (illustrative)


def lighthouse_winmore() -> tuple[list[Ship], datetime]:
    lw = Ship(477_123_400, "LIGHTHOUSE WINMORE", 30.40, 123.30, imo="9473365", call_sign="VRHY7")
    lw.legs = [Sail(MEET[0], MEET[1], 11.0), Dwell(6.0), Sail(30.20, 124.40, 11.0)]
    sj = Ship(445_112_000, "SAM JONG 2", 31.60, 123.80, imo="7408873", call_sign="HMYD")
    sj.legs = [
        Sail(MEET[0] + 0.0006, MEET[1] + 0.0004, 10.0),
        Dwell(6.5),
        Sail(32.30, 124.20, 10.0),
    ]
    return [lw, sj], datetime(2017, 10, 19, 0, 0, tzinfo=UTC)


RAJIN = (42.245, 130.305)
DUNAY = (42.885, 132.36)


def _shuttle(ship: Ship, trips: int) -> Ship:
    for _ in range(trips):
        ship.legs += [
            Dwell(20.0),  # loading at Dunay
            Sail(42.70, 132.10, 10.0),  # out of Dunay bay
            Dark(16.0, *RAJIN),  # transponder off across the Sea of Japan; heard again at Rajin
            Dwell(30.0),  # loading at Rajin
            Sail(42.15, 130.50, 9.0),
            Dark(16.0, *DUNAY),
        ]
    return ship


def rajin_dunay() -> tuple[list[Ship], datetime]:
    ships = [
        _shuttle(Ship(273_456_100, "ANGARA", *DUNAY, imo="9179842"), 2),
        _shuttle(Ship(273_456_200, "LADY R", DUNAY[0] + 0.01, DUNAY[1]), 1),
        _shuttle(Ship(273_456_300, "MARIA", DUNAY[0], DUNAY[1] + 0.01), 1),
    ]
    return ships, datetime(2023, 8, 15, 0, 0, tzinfo=UTC)


def port_approach() -> tuple[list[Ship], datetime]:
    ship = Ship(413_000_111, "ZHONG YUAN 8", 30.60, 122.80, imo="9321483")
    ship.legs = [
        Sail(31.30, 121.75, 12.0),
        Sail(31.36, 121.60, 4.0),
        Dwell(8.0),
        Sail(30.6, 122.8, 12),
    ]
    return [ship], datetime(2019, 5, 2, 0, 0, tzinfo=UTC)


def loiter_rendezvous() -> tuple[list[Ship], datetime]:
    a = Ship(352_000_501, "OCEAN ROVER", 25.50, 121.00, imo="9297462")
    a.legs = [Sail(26.00, 122.00, 12.0), Dwell(5.0), Sail(27.0, 123.0, 12.0)]
    b = Ship(370_000_502, "BLUE PEARL", 26.60, 122.40)
    b.legs = [Sail(26.0005, 122.0003, 11.0), Dwell(6.0), Sail(25.0, 123.0, 11.0)]
    return [a, b], datetime(2020, 3, 1, 0, 0, tzinfo=UTC)


def gap() -> tuple[list[Ship], datetime]:
    ship = Ship(511_000_333, "SILENT WAVE", 37.00, 124.00)
    ship.legs = [Sail(38.00, 124.40, 10.0), Dark(20.0, 38.40, 124.60), Sail(38.9, 124.9, 10.0)]
    return [ship], datetime(2019, 1, 10, 0, 0, tzinfo=UTC)


def name_change() -> tuple[list[Ship], datetime]:
    ship = Ship(667_000_444, "NEW REGENT", 35.0, 126.0, imo="8804751", call_sign="9LY2444")
    ship.legs = [
        Sail(35.5, 125.0, 10.0),
        Dark(18.0),
        Rename(name="KUM UN SAN 3"),  # same MMSI, new name: name_change
        Sail(36.0, 124.5, 10.0),
        Dwell(2.0),
        Rename(mmsi=445_000_444, call_sign="HMBK"),  # same IMO, DPRK MID: flag_change
        Sail(36.5, 124.0, 10.0),
    ]
    return [ship], datetime(2018, 6, 1, 0, 0, tzinfo=UTC)


def designated_port_call() -> tuple[list[Ship], datetime]:
    """SAM JONG 2 (on the 1718 list from 30 Mar 2018) calling at Nakhodka: illustrative."""
    ship = Ship(445_112_000, "SAM JONG 2", 42.30, 133.40, imo="7408873", call_sign="HMYD")
    ship.legs = [Sail(42.80, 132.89, 9.0), Dwell(10.0), Sail(42.30, 133.40, 9.0)]
    return [ship], datetime(2019, 2, 1, 0, 0, tzinfo=UTC)


SCENARIOS: dict[str, Callable[[], tuple[list[Ship], datetime]]] = {
    "lighthouse_winmore": lighthouse_winmore,
    "rajin_dunay": rajin_dunay,
    "port_approach": port_approach,
    "loiter_rendezvous": loiter_rendezvous,
    "gap": gap,
    "name_change": name_change,
    "designated_port_call": designated_port_call,
}


def scenario_lines(name: str, **kw: int) -> list[str]:
    ships, start = SCENARIOS[name]()
    return nmea_lines(ships, start, **kw)

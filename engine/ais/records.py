"""The few decoded fields derivation reads: one small slotted record per AIS report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class PositionReport:
    mmsi: int
    ts: float  # Unix seconds (UTC)
    lat: float
    lon: float
    sog: float | None  # knots; None when not available (AIS 102.3)
    ref: str  # where it came from: "<batch>#<line>"


@dataclass(slots=True)
class StaticReport:
    mmsi: int
    ts: float
    imo: str | None
    name: str | None
    call_sign: str | None
    ref: str


@dataclass(slots=True)
class Problem:
    """A line or fragment that could not be read: a data-quality finding, never an exception."""

    ref: str
    message: str
    type: str  # nmea_checksum | nmea_invalid | no_time | fragment_missing | json_invalid | ...
    text: str = ""


Report = PositionReport | StaticReport

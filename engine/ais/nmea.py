"""NMEA 0183 AIVDM/AIVDO lines -> the few fields derivation reads, decoded with pyais.

Decoding is lazy: a line's sentence is split and checksummed, its message type read from the
first payload character, and only the types derivation uses are decoded, and only their needed
fields: positions (types 1-3, 18, 19, 27: MMSI, lat, lon, speed) are read straight off pyais's
bit vector; static reports (types 5 and 24, rare) are decoded whole by pyais. Other types are
counted and skipped. Multi-fragment messages are assembled by (talker, channel, sequence id).

Time: AIS positions carry no date. A line's time is its NMEA 4.10 tag block ``c:`` (Unix
seconds, as AIS-catcher, gpsd and most receivers write: ``\\s:rx1,c:1508400000*hh\\!AIVDM...``) or
a leading timestamp (Unix seconds or RFC 3339) before the ``!``. A line without one is a finding.

Every unreadable line is a ``Problem`` (a data-quality finding), never an exception.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from operator import xor

from pyais.bit_vector import bit_vector
from pyais.exceptions import InvalidNMEAMessageException, UnknownMessageException
from pyais.messages import MSG_CLASS

from engine.ais.records import PositionReport, Problem, Report, StaticReport

# First payload character -> message type (AIS 6-bit armouring) of the types derivation reads.
POSITION_TYPES = {"1": 1, "2": 2, "3": 3, "B": 18, "C": 19, "K": 27}
STATIC_TYPES = {"5": 5, "H": 24}
# (mmsi start, lon start, lon bits, lat start, lat bits, sog start, sog bits, lon/lat divisor)
_LAYOUT = {
    1: (61, 28, 89, 27, 50, 10, 600_000.0),
    2: (61, 28, 89, 27, 50, 10, 600_000.0),
    3: (61, 28, 89, 27, 50, 10, 600_000.0),
    18: (57, 28, 85, 27, 46, 10, 600_000.0),
    19: (57, 28, 85, 27, 46, 10, 600_000.0),
    27: (44, 18, 62, 17, 79, 6, 600.0),
}


_PAYLOAD_ERRORS = (
    ValueError,
    IndexError,
    UnicodeEncodeError,
    InvalidNMEAMessageException,
    UnknownMessageException,
)


@dataclass
class Decoded:
    reports: list[Report] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: Counter[int] = field(default_factory=Counter)  # message type -> count not used
    lines: int = 0


def _time(text: str) -> float | None:
    text = text.strip(" ,;\t")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return dt.timestamp() if dt.tzinfo is not None else None
    return value / 1000.0 if value > 1e11 else value  # milliseconds, as some receivers write


def _tag_time(tag: str) -> float | None:
    body = tag.split("*", 1)[0]
    if body[:2] == "c:" and body[2:].isdigit():  # the common tag block: only the time
        value = int(body[2:])
        return value / 1000.0 if value > 1e11 else float(value)
    for part in body.split(","):
        if part.startswith("c:"):
            return _time(part[2:])
    return None


_M64, _M32, _M16, _M8, _M4, _M2 = ((1 << (8 * k)) - 1 for k in (64, 32, 16, 8, 4, 2))


def xor_bytes(data: bytes) -> int:
    """XOR of all bytes (the NMEA checksum). A sentence (at most 82 characters) read as one
    integer is folded in halves: seven big-integer steps instead of a Python call per byte."""
    if len(data) > 128:
        return reduce(xor, data, 0)
    v = int.from_bytes(data, "little")
    v = (v & _M64) ^ (v >> 512)
    v = (v & _M32) ^ (v >> 256)
    v = (v & _M16) ^ (v >> 128)
    v = (v & _M8) ^ (v >> 64)
    v = (v & _M4) ^ (v >> 32)
    v = (v & _M2) ^ (v >> 16)
    return (v & 255) ^ (v >> 8)


def _position(ais_type: int, bv: bit_vector, ts: float, ref: str) -> PositionReport | None:
    lon0, lonw, lat0, latw, sog0, sogw, div = _LAYOUT[ais_type]
    mmsi = bv.get(8, 30)
    lon = bv.get_signed(lon0, lonw) / div
    lat = bv.get_signed(lat0, latw) / div
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None  # 181 / 91: position not available
    raw_sog = bv.get(sog0, sogw)
    if ais_type == 27:
        sog: float | None = None if raw_sog == 63 else float(raw_sog)
    else:
        sog = None if raw_sog == 1023 else raw_sog / 10.0
    return PositionReport(mmsi, ts, lat, lon, sog, ref)


def _clean(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    text = text.replace("@", " ").strip()
    return " ".join(text.split()) or None


def _static(ais_type: int, bv: bit_vector, ts: float, ref: str) -> StaticReport | None:
    msg = MSG_CLASS[ais_type].from_vector(bv)
    if ais_type == 5:
        imo = getattr(msg, "imo", None)
        return StaticReport(
            msg.mmsi,
            ts,
            str(imo).zfill(7) if isinstance(imo, int) and imo > 0 else None,
            _clean(getattr(msg, "shipname", None)),
            _clean(getattr(msg, "callsign", None)),
            ref,
        )
    part = getattr(msg, "partno", None)
    if part == 0:
        return StaticReport(msg.mmsi, ts, None, _clean(getattr(msg, "shipname", None)), None, ref)
    if part == 1:
        return StaticReport(msg.mmsi, ts, None, None, _clean(getattr(msg, "callsign", None)), ref)
    return None


class NmeaDecoder:
    """Feeds lines in order; keeps incomplete multi-fragment messages between calls."""

    def __init__(self) -> None:
        # (talker+type, channel, seq id, fragment count) -> (time, first ref, payloads, last fill)
        self.partial: dict[tuple[str, str, str, int], tuple[float | None, str, list[str]]] = {}

    def decode(self, lines: Iterable[str], batch: str, first_line: int = 1) -> Decoded:
        out = Decoded()
        reports, problems = out.reports, out.problems
        skipped = out.skipped
        n = first_line - 1
        for n, raw in enumerate(lines, start=first_line):
            line = raw.strip()
            if not line:
                continue
            ts: float | None = None
            if line[0] == "\\":
                end = line.find("\\", 1)
                if end < 0:
                    problems.append(
                        Problem(f"{batch}#{n}", "tag block not closed", "nmea_invalid", line[:200])
                    )
                    continue
                tag = line[1:end]
                star = tag.find("*")
                digits = tag[2:star] if star > 0 else tag[2:]
                if tag[:2] == "c:" and digits.isdigit():  # the usual tag block: the time alone
                    value = int(digits)
                    ts = value / 1000.0 if value > 1e11 else float(value)
                else:
                    ts = _tag_time(tag)
                line = line[end + 1 :]
            elif line[0] != "!":
                bang = line.find("!")
                if bang < 0:
                    problems.append(
                        Problem(f"{batch}#{n}", "not an NMEA sentence", "nmea_invalid", line[:200])
                    )
                    continue
                ts = _time(line[:bang])
                line = line[bang:]
            star = line.rfind("*")
            body = line[1:star]
            fields = body.split(",") if star > 0 else []
            if len(fields) < 7 or not fields[0].endswith(("VDM", "VDO")):
                problems.append(
                    Problem(
                        f"{batch}#{n}", "not an AIVDM/AIVDO sentence", "nmea_invalid", line[:200]
                    )
                )
                continue
            try:
                sent = int(line[star + 1 : star + 3], 16)
            except ValueError:
                sent = -1
            if xor_bytes(body.encode("ascii", "replace")) != sent:
                problems.append(
                    Problem(f"{batch}#{n}", "checksum mismatch", "nmea_checksum", line[:200])
                )
                continue
            payload = fields[5]
            if (
                ts is not None
                and fields[1] == "1"
                and fields[2] == "1"
                and fields[6] in ("0", "")
                and payload
                and (ais_type := POSITION_TYPES.get(payload[0])) is not None
            ):
                # The bulk of a feed: a one-sentence position report. The same reading as
                # _one's, without the general path's parsing of fragment and fill fields.
                try:
                    rec = _position(
                        ais_type, bit_vector(payload.encode("ascii"), 0), ts, f"{batch}#{n}"
                    )
                except _PAYLOAD_ERRORS as exc:
                    problems.append(
                        Problem(f"{batch}#{n}", f"payload cannot be decoded: {exc}", "nmea_payload")
                    )
                    continue
                if rec is not None:
                    reports.append(rec)
                continue
            try:
                count, number = int(fields[1]), int(fields[2])
                fill = int(fields[6] or 0)
            except ValueError:
                problems.append(
                    Problem(
                        f"{batch}#{n}", "bad fragment or fill field", "nmea_invalid", line[:200]
                    )
                )
                continue
            if count == 1:
                if not payload:
                    problems.append(
                        Problem(f"{batch}#{n}", "empty payload", "nmea_invalid", line[:200])
                    )
                    continue
                self._one(payload, fill, ts, f"{batch}#{n}", out)
                continue
            key = (fields[0], fields[4], fields[3], count)
            if number == 1:
                if key in self.partial:
                    old = self.partial[key]
                    problems.append(Problem(old[1], "fragments missing", "fragment_missing"))
                self.partial[key] = (ts, f"{batch}#{n}", [payload])
                continue
            part = self.partial.get(key)
            if part is None or len(part[2]) != number - 1:
                problems.append(
                    Problem(
                        f"{batch}#{n}", "fragment without its start", "fragment_missing", line[:200]
                    )
                )
                self.partial.pop(key, None)
                continue
            part[2].append(payload)
            if number == count:
                del self.partial[key]
                self._one(
                    "".join(part[2]), fill, part[0] if part[0] is not None else ts, part[1], out
                )
        out.lines = n - first_line + 1
        del reports, problems, skipped
        return out

    def pending(self) -> list[Problem]:
        """Multi-fragment messages still incomplete (at the end of the input): findings."""
        found = [
            Problem(ref, "fragments missing at end of input", "fragment_missing")
            for _, ref, _ in self.partial.values()
        ]
        self.partial.clear()
        return found

    @staticmethod
    def _one(payload: str, fill: int, ts: float | None, ref: str, out: Decoded) -> None:
        head = payload[0]
        ais_type = POSITION_TYPES.get(head) or STATIC_TYPES.get(head)
        if ais_type is None:
            out.skipped[ord(head) - 48 if ord(head) - 48 <= 40 else ord(head) - 56] += 1
            return
        if ts is None:
            out.problems.append(
                Problem(ref, "no time (tag block c: or leading timestamp)", "no_time")
            )
            return
        try:
            bv = bit_vector(payload.encode("ascii"), fill)
            rec: Report | None = (
                _position(ais_type, bv, ts, ref)
                if ais_type in _LAYOUT
                else _static(ais_type, bv, ts, ref)
            )
        except _PAYLOAD_ERRORS as exc:
            out.problems.append(Problem(ref, f"payload cannot be decoded: {exc}", "nmea_payload"))
            return
        if rec is not None:
            out.reports.append(rec)

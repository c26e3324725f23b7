"""Decoded AIS as JSON (one object per line, or an array): positions and static data.

For upstream systems that decode AIS themselves. Field names follow pyais's own ``asdict()``
(``mmsi``, ``lat``, ``lon``, ``speed``, ``shipname``, ``callsign``, ``imo``) with common
synonyms (``sog``, ``name``, ``call_sign``); the time is ``ts`` / ``timestamp`` / ``time``
(RFC 3339 with an offset, or Unix seconds). An object with lat and lon is a position; one with a
name, IMO or call sign is static data (both when it has both). Anything unreadable is a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.ais.nmea import Decoded
from engine.ais.records import PositionReport, Problem, StaticReport


class AisJson(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    mmsi: int = Field(ge=0, le=999_999_999)
    ts: float = Field(validation_alias=AliasChoices("ts", "timestamp", "time", "received_at"))
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    sog: float | None = Field(default=None, ge=0, validation_alias=AliasChoices("sog", "speed"))
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "shipname"))
    call_sign: str | None = Field(
        default=None, validation_alias=AliasChoices("call_sign", "callsign")
    )
    imo: str | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _when(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
                if dt.tzinfo is None:
                    raise ValueError("a time needs an offset (RFC 3339)") from None
                return dt.timestamp()
        return v

    @field_validator("imo", mode="before")
    @classmethod
    def _imo(cls, v: Any) -> Any:
        if isinstance(v, int):
            return str(v).zfill(7) if v > 0 else None
        return v


def decode_json(lines: Iterable[str], batch: str, first_line: int = 1) -> Decoded:
    out = Decoded()
    items: list[tuple[int, Any]] = []
    text = list(lines)
    joined = "\n".join(text).strip()
    if joined.startswith("["):
        try:
            items = list(enumerate(json.loads(joined), start=first_line))
        except ValueError as exc:
            out.problems.append(
                Problem(f"{batch}#{first_line}", f"not JSON: {exc}", "json_invalid")
            )
            return out
    else:
        for n, line in enumerate(text, start=first_line):
            if not line.strip():
                continue
            try:
                items.append((n, json.loads(line)))
            except ValueError as exc:
                out.problems.append(
                    Problem(f"{batch}#{n}", f"not JSON: {exc}", "json_invalid", line[:200])
                )
    out.lines = len(text)
    for n, item in items:
        ref = f"{batch}#{n}"
        try:
            rec = AisJson.model_validate(item)
        except ValidationError as exc:
            msg = "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            out.problems.append(Problem(ref, msg, "json_invalid", json.dumps(item)[:200]))
            continue
        if rec.lat is not None and rec.lon is not None:
            out.reports.append(PositionReport(rec.mmsi, rec.ts, rec.lat, rec.lon, rec.sog, ref))
        if rec.name or rec.imo or rec.call_sign:
            out.reports.append(
                StaticReport(rec.mmsi, rec.ts, rec.imo, rec.name, rec.call_sign, ref)
            )
    out.problems.sort(key=lambda p: int(p.ref.rsplit("#", 1)[1]))  # in line order
    return out

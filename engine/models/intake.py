"""Envelope strict, body tolerant: turn a messy upstream event into an Event plus findings.

``Event.model_validate`` calls ``read_tolerantly`` (a wrap validator), so the HTTP/queue intake,
the worker, replays and the caps ledger all read a stored raw event the same way. An event that
is valid v1 takes the fast path: one strict validation and the v1 contract checks, no copy.
Otherwise a copy of the body is normalised (country names and alpha-3, UN/LOCODEs and port
names, units, several or ``HS``-prefixed HS codes, day-only dates) and validated again; every value
that still cannot be read is dropped from the model (the stored raw event keeps it) and recorded
as a finding with ``unknown=True``. Only an unusable envelope (``event_id``, ``event_type``,
``occurred_at``, the body object) raises.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from engine.models.events import ISO_COUNTRIES, Event, _hs_code
from engine.models.quality import Finding
from engine.normalise.countries import country_code
from engine.normalise.hs import hs_candidates
from engine.normalise.locode import code_list, country_of_locode
from engine.normalise.units import CANONICAL, unit_of

ENVELOPE = frozenset({"contract_version", "event_id", "event_type", "occurred_at"})
BODIES = ("shipment", "entity", "vessel_movement")
_MOVEMENT_KINDS = {
    "sts": "ship_to_ship", "ship to ship": "ship_to_ship", "sts transfer": "ship_to_ship",
    "port call": "port_call", "portcall": "port_call", "call": "port_call",
    "ais gap": "ais_gap", "dark": "ais_gap", "ais off": "ais_gap",
    "flag change": "flag_change", "reflag": "flag_change", "name change": "name_change",
}  # fmt: skip
_OPERATIONS = {
    "loading": "load", "loaded": "load", "discharging": "discharge", "discharged": "discharge",
    "unload": "discharge", "unloading": "discharge", "transfer": "transfer", "transferring": "transfer",
}  # fmt: skip


def pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _loc_parts(loc: tuple[Any, ...]) -> list[Any]:
    # pydantic adds union/validator tags ("function-after[...]", "list[...]"); they are not paths.
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg


class _Reader:
    """One tolerant read: the working copy and the findings so far."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def note(
        self, ptr: str, message: str, assumed: str, value: Any = None, unknown: bool = False
    ) -> None:
        self.findings.append(
            Finding(pointer=ptr, message=message, assumed=assumed, unknown=unknown, value=value)
        )

    def interpreted(self, ptr: str, value: Any, result: str, what: str = "") -> None:
        self.note(
            ptr,
            f"{what or 'value'} is not in the v1 form",
            f'interpreted "{value}" as {result}',
            value,
        )

    # -- envelope ---------------------------------------------------------------------------

    def envelope(self, d: dict[str, Any]) -> None:
        et = d.get("event_type")
        if isinstance(et, str) and et not in BODIES:
            low = re.sub(r"[\s-]+", "_", et.strip().lower())
            if low in BODIES:
                self.interpreted("/event_type", et, low, "event_type")
                d["event_type"] = low
        for key in ("occurred_at",):
            fixed = self._instant(d.get(key))
            if fixed is not None:
                self.note(pointer(key), fixed[1], f'interpreted "{d[key]}" as {fixed[0]}', d[key])
                d[key] = fixed[0]
        src = d.get("source")
        if not isinstance(src, str) or not src.strip():
            self.note("/source", "source is missing", 'assumed "unknown"', src)
            d["source"] = "unknown"
        kind = d.get("event_type")
        for other in BODIES:
            if other != kind and d.get(other) is not None and kind in BODIES:
                self.note(
                    pointer(other),
                    f"event_type {kind!r} must not carry a {other!r} body",
                    "ignored",
                    None,
                )
                d.pop(other)

    @staticmethod
    def _instant(v: Any) -> tuple[str, str] | None:
        """A day-only date or a datetime without offset, read as UTC (the finding says so)."""
        if not isinstance(v, str):
            return None
        text = v.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                date.fromisoformat(text)
            except ValueError:
                return None
            return f"{text}T00:00:00+00:00", "the source gives the day only (no time or offset)"
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return dt.isoformat() + "+00:00", "datetime without a time-zone offset"
        return None

    # -- body normalisation --------------------------------------------------------------------

    def country(self, obj: dict[str, Any], key: str, base: str) -> None:
        v = obj.get(key)
        if not isinstance(v, str) or v.strip().upper() in ISO_COUNTRIES:
            return
        code = country_code(v)
        if code is None and country_of_locode(v) is not None and len(v.strip()) == 5:
            code = None  # a locode where a country belongs: left unknown (place() handles ports)
        if code is not None:
            self.interpreted(pointer_join(base, key), v, code, "country")
            obj[key] = code

    def place(self, parent: Any, key: str | int, base: str) -> None:
        v = parent[key]
        ptr = pointer_join(base, key)
        if isinstance(v, str):  # "KPNJN", "Najin", "North Korea" instead of an object
            loc = code_list().code(v) if country_of_locode(v) else None
            if country_of_locode(v):
                obj: dict[str, Any] = {
                    "locode": v.replace(" ", "").upper(),
                    "country": country_of_locode(v),
                }
                if loc is not None:
                    obj["name"] = loc.name
            elif (named := code_list().named(v)) is not None:
                obj = {"name": v, "locode": named.locode, "country": named.country}
            elif (cc := country_code(v)) is not None:
                obj = {"country": cc}
            else:
                obj = {"name": v}
            self.interpreted(ptr, v, _place_text(obj), "place")
            parent[key] = obj
            v = obj
        if not isinstance(v, dict):
            return
        self.country(v, "country", ptr)
        loc_code = v.get("locode")
        if isinstance(loc_code, str) and not v.get("country") and country_of_locode(loc_code):
            cc = country_of_locode(loc_code)
            self.interpreted(
                pointer_join(ptr, "country"),
                loc_code,
                f"{cc} (country of the UN/LOCODE)",
                "missing country",
            )
            v["country"] = cc
            found = code_list().code(loc_code)
            if found is not None and not v.get("name"):
                v["name"] = found.name
        elif not v.get("country") and isinstance(v.get("name"), str):
            name = v["name"]
            found = code_list().named(name) or (
                code_list().code(name) if country_of_locode(name) else None
            )
            if found is not None:
                self.interpreted(
                    pointer_join(ptr, "country"),
                    name,
                    f"{found.country} (UN/LOCODE {found.locode} {found.name})",
                    "missing country",
                )
                v["country"] = found.country
                v.setdefault("locode", found.locode)

    def vessel(self, parent: dict[str, Any], key: str, base: str) -> None:
        v = parent.get(key)
        if isinstance(v, str) and v.strip():
            self.interpreted(pointer_join(base, key), v, "the vessel's name", "vessel")
            parent[key] = v = {"name": v}
        if isinstance(v, dict):
            self.country(v, "flag", pointer_join(base, key))

    def goods(self, line: dict[str, Any], ptr: str) -> None:
        raw = line.get("hs_code")
        if raw is not None and not _strict_ok(_hs_code, raw):
            codes = hs_candidates(raw)
            if codes is not None:
                what = ", ".join(codes)
                self.interpreted(
                    pointer_join(ptr, "hs_code"),
                    raw,
                    f"HS {what}" + (" (any of them)" if len(codes) > 1 else ""),
                    "hs_code",
                )
                line["hs_code"] = codes[0]
                if len(codes) > 1:
                    line["hs_codes"] = codes
        unit = line.get("unit")
        if isinstance(unit, str) and unit not in CANONICAL:
            got = unit_of(unit)
            if got is not None:
                canon, factor = got
                q = line.get("quantity")
                if factor != 1.0 and isinstance(q, int | float) and not isinstance(q, bool):
                    line["quantity"] = q * factor
                    self.interpreted(
                        pointer_join(ptr, "unit"),
                        unit,
                        f"{canon} (quantity {q:g} x {factor:g} = {q * factor:g} {canon})",
                        "unit",
                    )
                elif factor != 1.0:
                    self.interpreted(
                        pointer_join(ptr, "unit"), unit, f"{canon} (x {factor:g})", "unit"
                    )
                else:
                    self.interpreted(pointer_join(ptr, "unit"), unit, canon, "unit")
                line["unit"] = canon
        self.country(line, "origin_country", ptr)

    def body(self, kind: str, b: dict[str, Any]) -> None:
        base = pointer(kind)
        if kind == "shipment":
            for key in ("origin", "destination"):
                if b.get(key) is not None:
                    self.place(b, key, base)
            route = b.get("route")
            if isinstance(route, list):
                for i in range(len(route)):
                    self.place(route, i, pointer_join(base, "route"))
            self.vessel(b, "vessel", base)
            self._lines(b.get("goods"), pointer_join(base, "goods"))
            for i, p in enumerate(
                b.get("parties") or [] if isinstance(b.get("parties"), list) else []
            ):
                if isinstance(p, dict):
                    self.country(p, "country", pointer_join(base, "parties", i))
        elif kind == "vessel_movement":
            self.vessel(b, "vessel", base)
            self.vessel(b, "counterpart_vessel", base)
            if b.get("port") is not None:
                self.place(b, "port", base)
            self._lines(b.get("cargo"), pointer_join(base, "cargo"))
            self._word(b, "kind", _MOVEMENT_KINDS, base)
            self._word(b, "cargo_operation", _OPERATIONS, base)
            prev = b.get("previous")
            if isinstance(prev, dict):
                self.country(prev, "flag", pointer_join(base, "previous"))
            for key in ("started_at", "ended_at"):
                fixed = self._instant(b.get(key))
                if fixed is not None:
                    self.note(
                        pointer_join(base, key),
                        fixed[1],
                        f'interpreted "{b[key]}" as {fixed[0]}',
                        b[key],
                    )
                    b[key] = fixed[0]
        elif kind == "entity":
            for key in ("country", "nationality", "flag"):
                self.country(b, key, base)
            owners = b.get("owners")
            if isinstance(owners, list):
                for i, o in enumerate(owners):
                    if isinstance(o, dict):
                        self.country(o, "country", pointer_join(base, "owners", i))

    def _lines(self, lines: Any, base: str) -> None:
        if isinstance(lines, list):
            for i, g in enumerate(lines):
                if isinstance(g, dict):
                    self.goods(g, pointer_join(base, i))

    def _word(self, b: dict[str, Any], key: str, words: dict[str, str], base: str) -> None:
        v = b.get(key)
        if isinstance(v, str):
            k = re.sub(r"[\s_-]+", " ", v.strip().lower())
            target = words.get(k) or (
                k.replace(" ", "_") if k.replace(" ", "_") in words.values() else None
            )
            if target is not None and target != v:
                self.interpreted(pointer_join(base, key), v, target, key)
                b[key] = target

    # -- repair ---------------------------------------------------------------------------------

    def repair(self, d: dict[str, Any], err: Any) -> bool:
        """Drop the value an error points at (or its container when a required key is missing)."""
        parts = _loc_parts(tuple(err["loc"]))
        if not parts:
            return False
        if err["type"] == "missing":
            parts = parts[:-1]  # a required key inside a nested object: that object is unusable
            if not parts:
                return False
        parent: Any = d
        for p in parts[:-1]:
            try:
                parent = parent[p]
            except (KeyError, IndexError, TypeError):
                return False
        last = parts[-1]
        try:
            value = parent[last]
        except (KeyError, IndexError, TypeError):
            return False
        ptr = pointer(*parts)
        self.note(ptr, _message(err), "unknown", value if _small(value) else None, unknown=True)
        if isinstance(parent, dict):
            parent.pop(last)
        elif isinstance(parent, list):
            if value != {} and (isinstance(value, dict) or _list_of_objects(parent)):
                parent[last] = {}  # keep the indices of the other items (pointers stay valid)
            else:
                parent.pop(last)
        return True


def pointer_join(base: str, *parts: Any) -> str:
    return base + pointer(*parts)


def _place_text(obj: dict[str, Any]) -> str:
    bits = [obj.get("name"), obj.get("locode"), obj.get("country")]
    return " ".join(str(b) for b in bits if b) or "unknown place"


def _strict_ok(fn: Callable[[Any], Any], v: Any) -> bool:
    try:
        fn(v)
    except (ValueError, TypeError):
        return False
    return True


def _small(v: Any) -> bool:
    return not isinstance(v, dict | list) or len(str(v)) <= 500


def _list_of_objects(lst: list[Any]) -> bool:
    return any(isinstance(x, dict) for x in lst)


def _envelope_error(err: Any, kind: Any) -> bool:
    parts = _loc_parts(tuple(err["loc"]))
    if not parts:
        return True  # the event object itself (e.g. no body for its event_type)
    if parts[0] in ENVELOPE:
        return True
    # The body itself is not an object: nothing of it can be read.
    return len(parts) == 1 and parts[0] == kind


def _unknown(out: list[Finding], ptr: str, msg: str) -> None:
    out.append(Finding(pointer=ptr, message=msg, assumed="unknown", unknown=True))


def _flagged(out: list[Finding], ptr: str, msg: str, value: Any = None) -> None:
    out.append(Finding(pointer=ptr, message=msg, assumed="kept as reported", value=value))


def _check_place(out: list[Finding], p: Any, ptr: str, what: str) -> None:
    if p is None:
        _unknown(out, ptr, f"{what} is missing")
        return
    country = p.country
    if country is None:
        _unknown(out, ptr + "/country", f"{what} has no country")
    elif p.locode and country != "ZZ" and p.locode[:2] != country:
        _unknown(
            out,
            ptr + "/country",
            f"locode {p.locode} belongs to {p.locode[:2]}, not country {country}",
        )


def _check_vessel(out: list[Finding], v: Any, ptr: str, what: str) -> None:
    if v is None:
        _unknown(out, ptr, f"{what} is missing")
    elif not (v.name or v.imo or v.mmsi):
        if v.flag:
            _unknown(
                out,
                ptr + "/name",
                f"{what} is known only by its flag {v.flag} (no name, IMO or MMSI)",
            )
        else:
            _unknown(out, ptr, f"{what} is not identified (no name, IMO, MMSI or flag)")


def _check_lines(out: list[Finding], goods: list[Any], base: str) -> None:
    for i, g in enumerate(goods):
        if not g.hs_code and not g.description:
            # an unclassified line: what it is and where it is from are unknown
            _unknown(out, f"{base}/{i}", "goods need an hs_code or a description")
        if g.quantity is not None and g.unit is None:
            _unknown(out, f"{base}/{i}/unit", "a quantity needs its unit")


def contract_findings(ev: Event) -> list[Finding]:
    """The v1 requirements the models no longer enforce (they make a body unusable only in
    strict mode): each missing value is unknown, each inconsistency is flagged.

    Runs on every validated event (ingest and worker): module-level checks, no closures."""
    out: list[Finding] = []
    s, m, e = ev.shipment, ev.vessel_movement, ev.entity
    if s is not None:
        _check_place(out, s.origin, "/shipment/origin", "the origin")
        _check_place(out, s.destination, "/shipment/destination", "the destination")
        for i, p in enumerate(s.route):
            _check_place(out, p, f"/shipment/route/{i}", "a route point")
        if s.vessel is not None:
            _check_vessel(out, s.vessel, "/shipment/vessel", "the vessel")
        if s.goods:
            _check_lines(out, s.goods, "/shipment/goods")
        for i, party in enumerate(s.parties):
            if party.role is None:
                _unknown(out, f"/shipment/parties/{i}/role", "the party has no role")
            if party.name is None:
                _unknown(
                    out,
                    f"/shipment/parties/{i}/name",
                    "the party has no name (it cannot be screened)",
                )
        if s.departure_date and s.arrival_date and s.arrival_date < s.departure_date:
            _flagged(
                out,
                "/shipment/arrival_date",
                "arrival_date is before departure_date",
                str(s.arrival_date),
            )
    if m is not None:
        if m.kind is None:
            _unknown(out, "/vessel_movement/kind", "the movement kind is missing")
        _check_vessel(out, m.vessel, "/vessel_movement/vessel", "the vessel")
        if m.kind == "port_call":
            _check_place(out, m.port, "/vessel_movement/port", "the port of call")
        elif m.port is not None:
            _check_place(out, m.port, "/vessel_movement/port", "the port")
        if m.kind == "ship_to_ship" or m.counterpart_vessel is not None:
            _check_vessel(
                out,
                m.counterpart_vessel,
                "/vessel_movement/counterpart_vessel",
                "the counterpart vessel",
            )
        if m.kind in ("flag_change", "name_change", "identity_change") and m.previous is None:
            _unknown(out, "/vessel_movement/previous", f"a {m.kind} needs previous {{flag, name}}")
        if m.started_at and m.ended_at and m.ended_at < m.started_at:
            _flagged(
                out,
                "/vessel_movement/ended_at",
                "ended_at is before started_at",
                m.ended_at.isoformat(),
            )
        if m.cargo:
            _check_lines(out, m.cargo, "/vessel_movement/cargo")
    if e is not None:
        for key in ("action", "id", "kind", "name"):
            if getattr(e, key) is None:
                _unknown(out, f"/entity/{key}", f"the entity has no {key}")
        for i, o in enumerate(e.owners):
            if o.name is None:
                _unknown(out, f"/entity/owners/{i}/name", "the owner has no name")
    return out


def read_tolerantly(data: Any, handler: Callable[[Any], Event]) -> Event:
    if not isinstance(data, dict):
        return handler(data)
    try:
        strict = handler(data)
    except ValidationError:
        pass
    else:
        if not contract_findings(strict):
            return strict  # valid v1 (the fast path): decided exactly as before
    reader = _Reader()
    work = dict(data)
    reader.envelope(work)
    kind = work.get("event_type")
    if kind in BODIES and isinstance(work.get(kind), dict):
        work[kind] = copy.deepcopy(work[kind])
        reader.body(kind, work[kind])
    last: ValidationError | None = None
    for _ in range(8):
        try:
            ev = handler(work)
            break
        except ValidationError as exc:
            last = exc
            errs = exc.errors(include_url=False)
            if any(_envelope_error(err, kind) for err in errs):
                raise
            # Deepest first, and list items from the end, so earlier repairs keep later paths valid.
            errs.sort(key=lambda err: [str(p) for p in _loc_parts(tuple(err["loc"]))], reverse=True)
            if not any([reader.repair(work, err) for err in errs]):
                raise
    else:
        assert last is not None
        raise last
    seen = {f.pointer for f in reader.findings}
    reader.findings.extend(f for f in contract_findings(ev) if f.pointer not in seen)
    ev._quality = reader.findings
    return ev

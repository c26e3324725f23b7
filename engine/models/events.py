"""Event contract v1: the public JSON API that upstream systems push.

Every event has an envelope (``event_id``, ``event_type``, ``occurred_at``, ``source``) and one
body named after its type. Unknown extra fields are allowed (kept in the stored raw event) so a
newer upstream never breaks on an older engine; known fields are validated strictly.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

CONTRACT_VERSION: Literal["1"] = "1"

# ISO 3166-1 alpha-2 codes in use, plus "ZZ" (unknown) and "XK" (Kosovo, user-assigned but common).
ISO_COUNTRIES = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
        "XK",
        "ZZ",
    ]
)


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        raise ValueError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code (use 'ZZ' if unknown)"
        )
    return code


def _strip_upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


# The json_schema_extra below make the published JSON Schema (GET /api/v1/schema, the OpenAPI
# document) say what the validators check, so a body valid against the schema is accepted. Where
# a check cannot be said in JSON Schema (IMO check digit, locode prefix = country, date order) the
# schema says it in a description; it is never looser than the validator on what it does say.
Country = Annotated[
    str,
    BeforeValidator(_strip_upper),
    AfterValidator(_country),
    Field(json_schema_extra={"enum": sorted(ISO_COUNTRIES)}),
]


def imo_check_digit_ok(imo: str) -> bool:
    """IMO ship numbers: 7 digits, the last is sum(d_i * (7 - i)) mod 10 over the first six."""
    if not re.fullmatch(r"\d{7}", imo):
        return False
    total = sum(int(d) * w for d, w in zip(imo[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(imo[6])


def _imo(value: Any) -> Any:
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = re.sub(r"^\s*IMO[\s:]*", "", value.strip(), flags=re.I)
        if not re.fullmatch(r"\d{7}", value):
            raise ValueError("IMO number must be 7 digits")
        if not imo_check_digit_ok(value):
            raise ValueError(f"IMO number {value} fails its check digit")
    return value


def _hs_code(value: Any) -> Any:
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = re.sub(r"[\s.\-]", "", value)
        if not re.fullmatch(r"\d{2,10}", value):
            raise ValueError("HS code must be 2 to 10 digits (dots and spaces allowed)")
    return value


def _locode(value: Any) -> Any:
    if isinstance(value, str):
        value = value.replace(" ", "").upper()
        if not re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", value):
            raise ValueError("UN/LOCODE is 2 letters of country then 3 characters, e.g. KPNJN")
    return value


IMO = Annotated[
    str,
    BeforeValidator(_imo),
    Field(
        json_schema_extra={
            "pattern": r"^(?:IMO ?)?\d{7}$",
            "description": "7 digits, the last a check digit over the first six",
        }
    ),
]
HSCode = Annotated[
    str,
    BeforeValidator(_hs_code),
    Field(json_schema_extra={"pattern": r"^\d{2}(?:[. ]?\d{2}){0,4}$"}),
]
Locode = Annotated[
    str,
    BeforeValidator(_locode),
    Field(
        json_schema_extra={
            "pattern": r"^[A-Z]{2}[A-Z2-9]{3}$",
            "description": "UN/LOCODE; its first two letters are the place's country",
        }
    ),
]
NonEmpty = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class Model(BaseModel):
    """Known fields validated, unknown fields kept (contract is forward compatible)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class EventType(StrEnum):
    shipment = "shipment"
    entity = "entity"
    vessel_movement = "vessel_movement"


class Place(Model):
    country: Country | None = None  # required by v1; a missing one is a data-quality finding
    locode: Locode | None = None
    name: str | None = None


def _present(*names: str, of: dict[str, Any] | None = None) -> Any:
    """JSON Schema for 'at least one of these is given' (given: present, not null or blank)."""
    return [
        {"required": [n], "properties": {n: (of or {}).get(n, {"not": {"type": "null"}})}}
        for n in names
    ]


_TEXT = {"type": "string", "pattern": r"\S"}


class Vessel(Model):
    model_config = ConfigDict(
        json_schema_extra={"anyOf": _present("name", "imo", "mmsi", of={"name": _TEXT})}
    )

    name: str | None = None
    imo: IMO | None = None
    mmsi: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None
    flag: Country | None = None
    call_sign: str | None = Field(default=None, max_length=20)
    # Who is behind the hull as reported (registry, AIS-derived or upstream data): the vessel's
    # profile (engine.vessels.profile) keeps them over time.
    owner: str | None = Field(default=None, max_length=300)
    operator: str | None = Field(default=None, max_length=300)
    manager: str | None = Field(default=None, max_length=300)

    @field_validator("mmsi", mode="before")
    @classmethod
    def _mmsi_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class Money(Model):
    amount: float = Field(ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Unit(StrEnum):
    kg = "kg"
    t = "t"
    g = "g"
    bbl = "bbl"
    l = "l"  # noqa: E741 - the unit's own symbol
    m3 = "m3"
    pcs = "pcs"
    container = "container"
    teu = "teu"
    pallet = "pallet"
    set = "set"
    pair = "pair"
    carat = "carat"
    usd = "usd"


class Goods(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": _present("hs_code", "description", of={"description": _TEXT}),
            "dependentRequired": {"quantity": ["unit"]},
        }
    )

    hs_code: HSCode | None = None
    # Further candidate codes of the same line (``"8710/9301"``): a rule on any of them matches.
    hs_codes: list[HSCode] = Field(
        default_factory=list,
        max_length=20,
        description="further candidate HS codes of this line; a measure on any of them applies",
    )
    description: str | None = Field(default=None, max_length=2000)
    quantity: float | None = Field(default=None, ge=0)
    unit: Unit | None = None
    value: Money | None = None
    origin_country: Country | None = None

    @property
    def codes(self) -> list[str]:
        """Every candidate HS code of the line, the declared one first."""
        if not self.hs_codes:
            return [self.hs_code] if self.hs_code else []
        head = [self.hs_code] if self.hs_code else []
        return head + [c for c in self.hs_codes if c != self.hs_code]


class Identifiers(Model):
    """Open set: lei, bic, imo_company, registration_number, passport, ... (extra keys kept)."""

    lei: Annotated[str, Field(pattern=r"^[A-Z0-9]{18}\d{2}$")] | None = None
    bic: Annotated[str, Field(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")] | None = None
    imo: IMO | None = None
    imo_company: Annotated[str, Field(pattern=r"^\d{7}$")] | None = None
    mmsi: str | None = None
    passport: str | None = None
    registration_number: str | None = None

    @field_validator("lei", "bic", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.replace(" ", "").upper() if isinstance(v, str) else v

    @field_validator("imo_company", "mmsi", mode="before")
    @classmethod
    def _digits(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


PartyRole = Literal[
    "consignor",
    "consignee",
    "notify_party",
    "shipper",
    "carrier",
    "vessel_owner",
    "vessel_operator",
    "ship_manager",
    "freight_forwarder",
    "bank",
    "end_user",
    "insurer",
    "charterer",
    "other",
]


class Party(Model):
    role: PartyRole | None = None  # required by v1
    name: NonEmpty | None = None  # required by v1
    country: Country | None = None
    address: str | None = None
    identifiers: Identifiers | None = None


class Shipment(Model):
    reference: str | None = None
    mode: Literal["sea", "air", "rail", "road", "multimodal"] | None = None
    vessel: Vessel | None = None
    origin: Place | None = None  # required by v1
    destination: Place | None = None  # required by v1
    route: list[Place] = Field(default_factory=list, max_length=100)
    departure_date: date | None = None
    arrival_date: date | None = None
    parties: list[Party] = Field(default_factory=list, max_length=200)
    goods: list[Goods] = Field(default_factory=list, max_length=1000)
    exemption_ref: str | None = None
    notification_ref: str | None = None


class Owner(Model):
    name: NonEmpty
    kind: Literal["person", "organization"] | None = None
    country: Country | None = None
    share: float | None = Field(default=None, ge=0, le=100)


class Entity(Model):
    action: Literal["onboard", "update", "offboard"] | None = None  # required by v1
    id: NonEmpty | None = None  # required by v1
    kind: Literal["person", "organization", "vessel"] | None = None  # required by v1
    name: NonEmpty | None = None  # required by v1
    aliases: list[str] = Field(default_factory=list, max_length=200)
    country: Country | None = None
    nationality: Country | None = None
    birth_date: date | None = None
    address: str | None = None
    identifiers: Identifiers | None = None
    flag: Country | None = None
    owners: list[Owner] = Field(default_factory=list, max_length=200)


class Position(Model):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PreviousIdentity(Model):
    flag: Country | None = None
    name: str | None = None
    # identity_change (AIS message 5): the IMO, call sign or MMSI reported before
    imo: IMO | None = None
    call_sign: str | None = Field(default=None, max_length=20)
    mmsi: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None

    @field_validator("mmsi", mode="before")
    @classmethod
    def _mmsi_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class Provenance(Model):
    """Where a derived movement came from (engine/ais): the raw AIS behind it, kept in the store."""

    method: str | None = Field(default=None, max_length=200)  # e.g. ais:sts_proximity
    # "<batch id>#<line>" of the raw sentences (GET the batch: engine.ais.batches), first ones
    messages: list[str] = Field(default_factory=list, max_length=200)
    message_count: int | None = Field(default=None, ge=0)
    first_at: Annotated[datetime, AfterValidator(_in_utc_range)] | None = None
    last_at: Annotated[datetime, AfterValidator(_in_utc_range)] | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)


def _kind_needs(kind: str, field: str) -> dict[str, Any]:
    return {
        "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
        "then": {"required": [field], "properties": {field: {"not": {"type": "null"}}}},
    }


class VesselMovement(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                _kind_needs("port_call", "port"),
                _kind_needs("ship_to_ship", "counterpart_vessel"),
                _kind_needs("flag_change", "previous"),
                _kind_needs("name_change", "previous"),
                _kind_needs("identity_change", "previous"),
            ]
        }
    )

    kind: (
        Literal[
            "port_call", "ship_to_ship", "ais_gap", "flag_change", "name_change", "identity_change"
        ]
        | None
    ) = None
    vessel: Vessel | None = None  # required by v1
    port: Place | None = None
    counterpart_vessel: Vessel | None = None
    position: Position | None = None
    started_at: Annotated[datetime, AfterValidator(_in_utc_range)] | None = None
    ended_at: Annotated[datetime, AfterValidator(_in_utc_range)] | None = None
    cargo: list[Goods] = Field(default_factory=list, max_length=1000)
    cargo_operation: Literal["load", "discharge", "transfer"] | None = None
    previous: PreviousIdentity | None = None
    # ais_gap: where the vessel was heard again (``position`` is where it went silent)
    end_position: Position | None = None
    provenance: Provenance | None = None


# RFC 3339 date-time (section 5.6; a space for the T as its note allows). pydantic alone also
# takes Unix seconds (1694066400, "1694066400") and dates without a time: not the contract.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value  # built in Python (tests, replays), not sent
    if not isinstance(value, str) or not RFC3339.fullmatch(value.strip()):
        raise ValueError(
            "must be an RFC 3339 date-time with a time-zone offset, "
            "e.g. 2023-09-07T06:00:00+09:00 (not Unix seconds)"
        )
    return value.strip()


def _in_utc_range(value: datetime) -> datetime:
    """Stored and compared in UTC: 0001-01-01T00:30:00+01:00 has no UTC year (it is year 0)."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside years 1-9999 once converted to UTC") from None
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "occurred_at needs a time-zone offset (RFC 3339), e.g. 2023-09-07T06:00:00+09:00"
        )
    return _in_utc_range(value)


_BODY_FIELDS = tuple(t.value for t in EventType)
_READER: list[Any] = []  # engine.models.intake.read_tolerantly, imported on first use


def _read_tolerantly() -> Any:
    # intake imports this module, so it is imported late; once, not per validated event.
    if not _READER:
        from engine.models.intake import read_tolerantly

        _READER.append(read_tolerantly)
    return _READER[0]


def _one_body_schema() -> dict[str, Any]:
    """JSON Schema of ``Event._one_body``: the body named by event_type, and no other."""
    bodies = ("shipment", "entity", "vessel_movement")
    return {
        "oneOf": [
            {
                "properties": {
                    "event_type": {"const": kind},
                    kind: {"type": "object"},  # its schema is the property's own
                    **{other: {"type": "null"} for other in bodies if other != kind},
                },
                "required": ["event_type", kind],
            }
            for kind in bodies
        ]
    }


class Event(Model):
    """One upstream event. Exactly one body, under the key named by ``event_type``."""

    model_config = ConfigDict(json_schema_extra=_one_body_schema())

    contract_version: Literal["1"] = CONTRACT_VERSION
    event_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
    event_type: EventType
    occurred_at: Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_aware)]
    source: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
    shipment: Shipment | None = None
    entity: Entity | None = None
    vessel_movement: VesselMovement | None = None

    # Data-quality findings of this event (engine.models.quality.Finding): values that could not
    # be read (treated as unknown by every rule) and every interpretation the intake made.
    _quality: list[Any] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _tolerant(cls, data: Any, handler: Any, info: ValidationInfo) -> Event:
        """Envelope strict, body tolerant (engine.models.intake): whatever in the body cannot be
        read is dropped from the model, kept in the raw event and reported as a finding."""
        event = _read_tolerantly()(data, handler)
        if info.context and info.context.get("strict_events") and event.quality:
            # Authored events (rule examples) must be valid v1 as written.
            raise ValueError("; ".join(f"{f.pointer or '/'}: {f.message}" for f in event.quality))
        return event

    @property
    def quality(self) -> list[Any]:
        # The private-attribute dict directly: ``self._quality`` goes through pydantic's
        # __getattr__ (~1 us), and this is read several times per event on the hot path.
        private = self.__pydantic_private__
        return private["_quality"] if private is not None else []

    @model_validator(mode="after")
    def _one_body(self) -> Event:
        # Runs for every event on ingest and again in the worker: no enum walk or dict per call.
        kind = self.event_type.value
        if getattr(self, kind) is None:
            article = "an" if kind[0] in "aeiou" else "a"
            raise ValueError(f"event_type {kind!r} needs {article} {kind!r} body")
        others = [k for k in _BODY_FIELDS if k != kind and getattr(self, k) is not None]
        if others:
            raise ValueError(f"event_type {kind!r} must not carry {others} bodies")
        return self

    @property
    def body(self) -> Shipment | Entity | VesselMovement:
        return getattr(self, self.event_type.value)


# Fields v1 requires: the models accept events without them (tolerant intake, findings), but the
# published schema is the strict v1 contract (what ``Prefer: handling=strict`` enforces).
V1_REQUIRED: dict[str, tuple[str, ...]] = {
    "Place": ("country",),
    "Shipment": ("origin", "destination"),
    "Party": ("role", "name"),
    "Entity": ("action", "id", "kind", "name"),
    "VesselMovement": ("kind", "vessel"),
}


def _required(schema: dict[str, Any]) -> None:
    for name, fields in V1_REQUIRED.items():
        d = schema["$defs"][name]
        for f in fields:
            prop = d["properties"][f]
            alts = [a for a in prop.pop("anyOf", []) if a != {"type": "null"}]
            if len(alts) == 1:
                prop.update(alts[0])
            prop.pop("default", None)
        d["required"] = [*fields, *(r for r in d.get("required", []) if r not in fields)]


def json_schema() -> dict[str, Any]:
    schema = Event.model_json_schema()
    _required(schema)
    schema["$id"] = "https://sanctions-engine.local/api/v1/schema"
    schema["title"] = f"Sanctions engine event contract v{CONTRACT_VERSION}"
    return schema

"""Pydantic models of a rule file (rules/README.md). Strict: unknown keys are errors.

The ``when`` condition is parsed into small immutable node objects (All, AnyOf, Not and the leaves)
that both the compiler and the oracle walk; they never share evaluation code.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from engine.models.decisions import Citation, Severity
from engine.models.events import Event, Unit
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import (
    EVENT_TYPES,
    EXEMPTION_STATUSES,
    PARTY_ROLES,
    REGIMES,
    FactKind,
    fields_for,
    is_country,
    slug,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# -- instants ------------------------------------------------------------------------------------


def _instant(value: Any) -> Any:
    """A date (UTC day) or an RFC 3339 datetime WITH an offset."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a date (YYYY-MM-DD) or an RFC 3339 datetime"
            ) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} needs a time-zone offset")
        return value
    if isinstance(value, date):
        return value
    raise ValueError(f"{value!r} is not a date or datetime")


Instant = Annotated[date | datetime, BeforeValidator(_instant)]


def start_utc(value: date | datetime) -> datetime:
    """Inclusive start: a date is 00:00 UTC of that day."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def end_utc(value: date | datetime) -> datetime:
    """Exclusive end: a date includes its whole UTC day; a datetime is the exact instant."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value + timedelta(days=1), time(0), tzinfo=UTC)


# -- condition nodes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Direction:
    axis: Literal["to", "from", "touches"]
    countries: tuple[str, ...]


@dataclass(frozen=True)
class Keyword:
    words: tuple[str, ...]  # normalised lower-case words
    wildcard: bool  # last word may continue (``munition*``)

    @property
    def text(self) -> str:
        return " ".join(self.words) + ("*" if self.wildcard else "")


@dataclass(frozen=True)
class GoodsMatch:
    hs: tuple[str, ...]  # prefixes of 2, 4 or 6 digits
    keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class FieldTest:
    field: str
    op: Literal["eq", "in", "missing", "ne", "gt", "gte", "lt", "lte"]
    value: Any


@dataclass(frozen=True)
class RefStatus:
    kind: Literal["exemption", "notification"]
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Occurred:
    op: Literal["before", "from"]
    at: date | datetime


@dataclass(frozen=True)
class PartyNamed:
    """A shipment party in one of ``roles`` (empty: any role), of ``country`` if given, whose name
    contains one of ``names`` (keyword phrases): the end user a measure exempts or targets."""

    roles: tuple[str, ...]
    country: str | None
    names: tuple[Keyword, ...]


@dataclass(frozen=True)
class Area:
    """A place of the event in ``country`` named one of ``names`` (sub-national geography, e.g.
    Darfur); a place in that country without a name may be in the area (low confidence)."""

    country: str
    names: tuple[Keyword, ...]


@dataclass(frozen=True)
class History:
    """A test over the vessel's stored history before this event (rules/README.md §14): ``test``
    names it, ``params`` its settings as sorted (key, value) pairs. Evaluated by
    engine.vessels.history for both evaluators; never by durable_rules itself."""

    test: str
    params: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    @property
    def key(self) -> str:
        """Durable-safe, stable name of this test and its settings (one fact field per test)."""
        text = self.test + "_" + "_".join(f"{k}_{_param_text(v)}" for k, v in self.params)
        return slug(text)


def _param_text(v: Any) -> str:
    return "_".join(str(x) for x in v) if isinstance(v, tuple) else str(v)


Node = (
    All
    | AnyOf
    | Not
    | Direction
    | GoodsMatch
    | FieldTest
    | RefStatus
    | Occurred
    | PartyNamed
    | Area
    | History
)

_LEAF_KEYS = (
    "all", "any", "not", "to", "from", "touches", "goods", "where", "exemption", "notification",
    "occurred_before", "occurred_from", "party_named", "area", "vessel_history",
)  # fmt: skip


def _countries(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not is_country(item):
            raise ValueError(
                f"{key}: {item!r} is not an ISO 3166-1 alpha-2 country code (upper case)"
            )
        out.append(item)
    if not out:
        raise ValueError(f"{key}: needs at least one country")
    return tuple(dict.fromkeys(out))


def normalise_hs(value: Any) -> tuple[str, ...]:
    """HS prefixes: quoted strings of 2/4/6 digits; dots/spaces dropped; same-length ranges expanded."""
    if not isinstance(value, list):
        value = [value]
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(
                f'HS code {item!r} must be a quoted string (e.g. "0301"), not a number'
            )
        text = re.sub(r"[\s.]", "", item)
        m = re.fullmatch(r"(\d+)-(\d+)", text)
        if m:
            lo, hi = m.groups()
            if len(lo) != len(hi) or int(lo) > int(hi) or int(hi) - int(lo) > 500:
                raise ValueError(
                    f"HS range {item!r}: ends must have the same length and be ordered"
                )
            codes = [str(n).zfill(len(lo)) for n in range(int(lo), int(hi) + 1)]
        else:
            codes = [text]
        for code in codes:
            if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
                raise ValueError(
                    f"HS prefix {item!r} must be 2, 4 or 6 digits (chapter, heading, subheading)"
                )
            out.append(code)
    return tuple(dict.fromkeys(out))


def normalise_keyword(value: Any) -> Keyword:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"keyword {value!r} must be a non-empty string")
    text = value.strip().lower()
    wildcard = text.endswith("*")
    words = tuple(w for w in re.split(r"[\W_]+", text.rstrip("*")) if w)
    if not words:
        raise ValueError(f"keyword {value!r} has no letters or digits")
    return Keyword(words=words, wildcard=wildcard)


def _field_tests(value: Any) -> Node:
    if not isinstance(value, dict) or not value:
        raise ValueError("where: needs a mapping of field: value")
    tests: list[Node] = []
    for field, test in value.items():
        if isinstance(test, dict):
            if len(test) != 1:
                raise ValueError(
                    f"where.{field}: a comparison has exactly one of gt, gte, lt, lte, ne"
                )
            ((op, operand),) = test.items()
            if op not in ("gt", "gte", "lt", "lte", "ne"):
                raise ValueError(f"where.{field}: unknown comparison {op!r} (gt, gte, lt, lte, ne)")
            tests.append(FieldTest(str(field), op, operand))
        elif isinstance(test, list):
            if not test:
                raise ValueError(f"where.{field}: an empty list matches nothing")
            tests.append(FieldTest(str(field), "in", tuple(test)))
        elif test is None:
            tests.append(FieldTest(str(field), "missing", None))
        else:
            tests.append(FieldTest(str(field), "eq", test))
    return tests[0] if len(tests) == 1 else All(tuple(tests))


def _statuses(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item not in EXEMPTION_STATUSES:
            raise ValueError(f"{key}: {item!r} is not one of {', '.join(EXEMPTION_STATUSES)}")
    return tuple(items)


def parse_condition(raw: Any) -> Node:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(
            f"a condition is a mapping with exactly one key ({', '.join(_LEAF_KEYS)}); got {raw!r}"
        )
    ((key, value),) = raw.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{key}: needs a non-empty list of conditions")
        items = tuple(parse_condition(v) for v in value)
        return All(items) if key == "all" else AnyOf(items)
    if key == "not":
        return Not(parse_condition(value))
    if key in ("to", "from", "touches"):
        return Direction(key, _countries(value, key))
    if key == "goods":
        if not isinstance(value, dict) or not set(value) <= {"hs", "keywords"} or not value:
            raise ValueError("goods: takes hs and/or keywords")
        hs = normalise_hs(value["hs"]) if "hs" in value else ()
        kws = value.get("keywords") or []
        if not isinstance(kws, list):
            raise ValueError("goods.keywords must be a list")
        keywords = tuple(dict.fromkeys(normalise_keyword(k) for k in kws))
        if not hs and not keywords:
            raise ValueError("goods: needs hs prefixes or keywords")
        return GoodsMatch(hs, keywords)
    if key == "where":
        return _field_tests(value)
    if key in ("exemption", "notification"):
        return RefStatus(key, _statuses(value, key))
    if key in ("occurred_before", "occurred_from"):
        return Occurred("before" if key == "occurred_before" else "from", _instant(value))
    if key in ("party_named", "area"):
        return _named(key, value)
    if key == "vessel_history":
        return _history(value)
    raise ValueError(f"unknown condition {key!r}; known: {', '.join(_LEAF_KEYS)}")


def _names(value: Any, key: str) -> tuple[Keyword, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{key}.names: needs a non-empty list of names")
    return tuple(dict.fromkeys(normalise_keyword(n) for n in value))


def _named(key: str, value: Any) -> Node:
    if key == "area":
        if not isinstance(value, dict) or set(value) != {"country", "names"}:
            raise ValueError("area: takes country and names")
        (country,) = _countries(value["country"], "area.country")
        return Area(country, _names(value["names"], key))
    allowed = {"roles", "country", "names"}
    if not isinstance(value, dict) or "names" not in value or not set(value) <= allowed:
        raise ValueError("party_named: takes names, and optionally roles and country")
    roles = value.get("roles") or []
    if not isinstance(roles, list) or any(r not in PARTY_ROLES for r in roles):
        raise ValueError(f"party_named.roles: a list of {', '.join(PARTY_ROLES)}")
    of: str | None = None
    if value.get("country") is not None:
        (of,) = _countries(value["country"], "party_named.country")
    return PartyNamed(tuple(dict.fromkeys(roles)), of, _names(value["names"], key))


# The history tests and their settings (rules/README.md §14): name -> {setting: (type, required)}.
HISTORY_TESTS: dict[str, dict[str, tuple[str, bool]]] = {
    "flagged_within_days": {"days": ("int", True), "regimes": ("regimes", False)},
    "identity_changed_after_flagged": {"days": ("int", True), "regimes": ("regimes", False)},
    "identity_conflict": {"days": ("int", True)},
    "designated_under_other_name": {},
    "flag_changes_within_days": {"days": ("int", True), "min": ("int", True)},
    "sts_from": {
        "days": ("int", True),
        "flags": ("countries", False),
        "designated": ("bool", False),
    },
    "ais_gap_near": {
        "days": ("int", True),
        "km": ("num", True),
        "areas": ("areas", True),
    },
    "owner_designated": {"days": ("int", True), "regimes": ("regimes", False)},
}


def _history(value: Any) -> History:
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(
            f"vessel_history: takes exactly one test ({', '.join(HISTORY_TESTS)}); got {value!r}"
        )
    ((test, params),) = value.items()
    spec = HISTORY_TESTS.get(test)
    if spec is None:
        raise ValueError(
            f"vessel_history: unknown test {test!r}; known: {', '.join(HISTORY_TESTS)}"
        )
    if params is True and not spec:
        params = {}  # `designated_under_other_name: true`
    if isinstance(params, int) and not isinstance(params, bool) and set(spec) >= {"days"}:
        params = {"days": params}  # `flagged_within_days: 365`
    if not isinstance(params, dict):
        raise ValueError(f"vessel_history.{test}: needs a mapping of settings")
    unknown = set(params) - set(spec)
    if unknown:
        raise ValueError(f"vessel_history.{test}: unknown settings {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, (kind, required) in spec.items():
        if name not in params:
            if required:
                raise ValueError(f"vessel_history.{test}: needs {name}")
            continue
        v = params[name]
        if kind == "int":
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"vessel_history.{test}.{name}: a whole number >= 1")
        elif kind == "num":
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise ValueError(f"vessel_history.{test}.{name}: a number > 0")
            v = float(v)
        elif kind == "bool":
            if not isinstance(v, bool):
                raise ValueError(f"vessel_history.{test}.{name}: true or false")
        elif kind == "countries":
            v = tuple(sorted(_countries(v, f"vessel_history.{test}.{name}")))
        elif kind == "regimes":
            items = v if isinstance(v, list) else [v]
            if not items or any(r not in REGIMES for r in items):
                raise ValueError(f"vessel_history.{test}.{name}: a list of {', '.join(REGIMES)}")
            v = tuple(sorted(set(items)))
        elif kind == "areas":
            from engine.vessels.areas import WATCHED

            items = v if isinstance(v, list) else [v]
            bad = [a for a in items if a not in WATCHED]
            if not items or bad:
                raise ValueError(
                    f"vessel_history.{test}.{name}: unknown areas {bad}; known: {', '.join(WATCHED)}"
                )
            v = tuple(sorted(set(items)))
        out[name] = v
    if test == "sts_from" and not out.get("flags") and not out.get("designated"):
        raise ValueError("vessel_history.sts_from: needs flags and/or designated: true")
    return History(test, tuple(sorted(out.items())))


def _node_list(value: Any) -> Any:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("must be a list of conditions")
    return tuple(parse_condition(v) for v in value)


NodeList = Annotated[tuple[Any, ...], BeforeValidator(_node_list)]


def walk(node: Node):
    yield node
    if isinstance(node, All | AnyOf):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)


def _check_field(kind: str, test: FieldTest) -> None:
    known = fields_for(kind)
    if test.field not in known:
        raise ValueError(
            f"where: {test.field!r} is not a field of {kind} facts; known: {', '.join(sorted(known))}"
        )
    ftype = known[test.field]
    values = test.value if test.op == "in" else (() if test.op == "missing" else (test.value,))
    for v in values:
        if test.op in ("gt", "gte", "lt", "lte"):
            if ftype != "num" or isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"where.{test.field}: {test.op} needs a number field and a number")
        elif ftype == "num":
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"where.{test.field}: {v!r} is not a number")
        elif ftype == "bool":
            if not isinstance(v, bool):
                raise ValueError(f"where.{test.field}: {v!r} is not true/false")
        elif ftype == "country":
            if not is_country(v):
                raise ValueError(f"where.{test.field}: {v!r} is not an ISO country code")
        elif ftype == "str":
            if not isinstance(v, str):
                raise ValueError(f"where.{test.field}: {v!r} must be a string")
        elif v not in ftype:
            raise ValueError(f"where.{test.field}: {v!r} is not one of {', '.join(ftype)}")


class When(Strict):
    fact: FactKind
    all: NodeList = ()
    any: NodeList = ()
    unless: NodeList = ()

    @model_validator(mode="after")
    def _check(self) -> When:
        if not self.all and not self.any:
            raise ValueError("when: needs `all` or `any`")
        for node in self.nodes():
            if isinstance(node, FieldTest):
                _check_field(self.fact, node)
            if isinstance(node, GoodsMatch) and self.fact != "goods":
                raise ValueError("goods: conditions need `fact: goods`")
        return self

    def nodes(self):
        for item in (*self.all, *self.any, *self.unless):
            yield from walk(item)

    def tree(self) -> Node:
        """The whole condition as one node: all(all) and any(any) and not any(unless)."""
        parts: list[Node] = list(self.all)
        if self.any:
            parts.append(AnyOf(tuple(self.any)))
        if self.unless:
            parts.append(Not(AnyOf(tuple(self.unless))))
        return parts[0] if len(parts) == 1 else All(tuple(parts))


# -- the rule file -------------------------------------------------------------------------------


class Window(Strict):
    from_: Instant = Field(alias="from")
    to: Instant
    note: str | None = None


class WindDown(Strict):
    until: Instant
    requires: Literal["notification", "exemption"]
    note: str | None = None


class FixedPeriod(Strict):
    from_: Instant = Field(alias="from")
    to: Instant


class Cap(Strict):
    amount: Annotated[float, Field(gt=0)]
    unit: Unit
    period: Literal["calendar_year", "rolling_12_months"] | FixedPeriod
    notice_fraction: Annotated[float, Field(gt=0, le=1)] | None = None
    on_unknown: Literal["flag", "clear"] = "flag"


class CapUsage(Strict):
    """What the caps ledger reports for one goods line, in the cap's unit."""

    prior: float  # already counted in the period before this line
    this: float  # this line

    @property
    def total(self) -> float:
        return self.prior + self.this


class ExemptionEntry(Strict):
    ref: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["exemption", "notification"]
    regime: Literal[REGIMES]  # type: ignore[valid-type]
    covers: list[str] = []
    valid_from: Instant
    valid_to: Instant | None = None
    parties: list[str] = []  # who the Committee decision names (informational; shown in the UI)
    goods: list[
        str
    ] = []  # what it covers, e.g. "food-processing equipment (HS 8438)" (informational)
    note: str | None = None


class PriorEvent(Strict):
    """An earlier stored event of an example's vessel history (and how it was decided)."""

    event: Event
    flagged: list[Literal[REGIMES]] = []  # type: ignore[valid-type]  # regimes its decision flagged


class Example(Strict):
    event: Event
    hits: list[ScreeningHit] = []
    exemptions: list[ExemptionEntry] = []
    cap_usage: CapUsage | None = None
    history: list[PriorEvent] = []  # earlier stored events, for vessel_history conditions
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "event_id" in raw:
            return {"event": raw}
        return raw


class Examples(Strict):
    fire: Annotated[list[Example], Field(min_length=1)]
    clear: Annotated[list[Example], Field(min_length=1)]


REASON_FIELDS = frozenset(
    [
        "event_id",
        "occurred_at",
        "description",
        "hs_code",
        "quantity",
        "unit",
        "goods_origin_country",
        "origin",
        "destination",
        "route",
        "from_places",
        "to_places",
        "vessel",
        "vessel_flag",
        "counterpart_vessel",
        "counterpart_flag",
        "port",
        "previous_flag",
        "party_name",
        "party_role",
        "party_country",
        "entity_name",
        "hit_name",
        "hit_reference",
        "list_regime",
        "hit_role",
        "exemption_ref",
        "exemption_status",
        "notification_ref",
        "notification_status",
        "cap_amount",
        "cap_unit",
        "cap_total",
        "citation",
    ]
)

ConfidenceLevel = Literal["high", "medium", "low"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$"


class Rule(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    regime: Literal[REGIMES]  # type: ignore[valid-type]
    title: Annotated[str, Field(min_length=3, max_length=300)]
    summary: Annotated[str, Field(min_length=10)]
    citation: Citation
    also_cites: list[Citation] = []
    effective_from: Instant
    effective_to: Instant | None = None
    suspended: list[Window] = []
    wind_down: WindDown | None = None
    severity: Severity
    confidence: ConfidenceLevel
    confidence_note: str | None = None
    applies_to: Annotated[list[Literal[EVENT_TYPES]], Field(min_length=1)]  # type: ignore[valid-type]
    when: When
    cap: Cap | None = None
    reason: Annotated[str, Field(min_length=10, max_length=1000)]
    tags: list[str] = []
    sources: list[str] = []
    notes: str | None = None
    examples: Examples

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.confidence != "high" and not (self.confidence_note or "").strip():
            raise ValueError("confidence_note is required when confidence is not high")
        start = start_utc(self.effective_from)
        end = end_utc(self.effective_to) if self.effective_to is not None else None
        if end is not None and end <= start:
            raise ValueError("effective_to must be after effective_from")
        last = start
        for w in self.suspended:
            w_start, w_end = start_utc(w.from_), end_utc(w.to)
            if w_end <= w_start:
                raise ValueError("suspended window: `to` must be after `from`")
            if w_start < last or (end is not None and w_end > end):
                raise ValueError(
                    "suspended windows must be ordered and inside the effective window"
                )
            last = w_end
        if self.wind_down is not None and end_utc(self.wind_down.until) <= start:
            raise ValueError("wind_down.until must be after effective_from")
        if self.cap is not None and self.when.fact != "goods":
            raise ValueError("a cap needs `when.fact: goods`")
        if self.cap is not None and isinstance(self.cap.period, FixedPeriod):
            p = self.cap.period
            if end_utc(p.to) <= start_utc(p.from_):
                raise ValueError("cap.period: `to` must be after `from`")
        allowed = {"goods": {"shipment", "vessel_movement"}, "party": {"shipment", "entity"}}
        bad = set(self.applies_to) - allowed.get(self.when.fact, set(EVENT_TYPES))
        if bad:
            raise ValueError(
                f"applies_to {sorted(bad)}: those events have no {self.when.fact} facts"
            )
        names = {f for _, f, _, _ in string.Formatter().parse(self.reason) if f is not None}
        unknown = names - REASON_FIELDS
        if unknown:
            raise ValueError(
                f"reason: unknown placeholders {sorted(unknown)}; known: {', '.join(sorted(REASON_FIELDS))}"
            )
        return self

    @property
    def key(self) -> str:
        """Durable-safe form of the id, used in per-rule fact field names."""
        return slug(self.id)

    @property
    def citations(self) -> list[Citation]:
        return [self.citation, *self.also_cites]

    def uses_register(self, kind: str) -> bool:
        if self.wind_down is not None and self.wind_down.requires == kind:
            return True
        return any(isinstance(n, RefStatus) and n.kind == kind for n in self.when.nodes())

    def keywords(self) -> set[Keyword]:
        return {k for n in self.when.nodes() if isinstance(n, GoodsMatch) for k in n.keywords}


class ExemptionRegisterFile(Strict):
    entries: list[ExemptionEntry] = []

"""Property test: the durable path and the independent oracle agree on every generated event,
over the WHOLE rule pack in rules/ (rules added later are covered automatically).

Events are built from the pack's own vocabulary (its countries, HS prefixes, keywords, exemption
references and date boundaries) so that generated events land on both sides of every condition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rulepack_support import repo_pack

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.catalogue import REGIMES
from engine.rules.evaluator import Evaluator
from engine.rules.examples import FixedCaps, FixedScreener
from engine.rules.exemptions import ExemptionRegister
from engine.rules.loader import RulePack
from engine.rules.oracle import Oracle
from engine.rules.schema import (
    Area,
    CapUsage,
    Direction,
    FieldTest,
    GoodsMatch,
    Occurred,
    PartyNamed,
    end_utc,
    start_utc,
)


class World(SimpleNamespace):
    """The pack's vocabulary and the evaluators over it (attributes as below)."""


@cache
def world() -> World:
    """Built at the first draw or test (never at import): the repository's pack, its vocabulary
    (countries, HS prefixes, keywords, references, date boundaries, names) and the evaluators."""
    pack = repo_pack()
    nodes = [n for r in pack.rules for n in r.when.nodes()]
    countries = sorted(
        {c for n in nodes if isinstance(n, Direction) for c in n.countries}
        | {
            n.value
            for n in nodes
            if isinstance(n, FieldTest)
            and n.op == "eq"
            and isinstance(n.value, str)
            and len(n.value) == 2
            and n.value.isupper()
        }
        | {"KP", "IR", "RU", "CN", "ZZ", "PA", "US"}
    )
    entries = {e.ref: e for e in pack.register._entries.values()}
    # (empty for packs without an embedded register; the examples' registers fill it)
    for r in pack.rules:
        for ex in [*r.examples.fire, *r.examples.clear]:
            for e in ex.exemptions:
                entries.setdefault(e.ref, e)
    register = ExemptionRegister(entries.values())
    screener, caps = FixedScreener(), FixedCaps()
    return World(
        PACK=pack,
        COUNTRIES=countries,
        PREFIXES=sorted({p for n in nodes if isinstance(n, GoodsMatch) for p in n.hs}) or ["93"],
        KEYWORDS=sorted(
            {k.text.rstrip("*") for n in nodes if isinstance(n, GoodsMatch) for k in n.keywords}
        )
        or ["arms"],
        REGISTER=register,
        REFS=sorted(entries)[:40] + ["NOT-IN-REGISTER"],
        BOUNDS=_bounds(pack, entries),
        # party_named / area leaves: names drawn from the pack (and a few that match none of them)
        NAMES=sorted(
            {k.text.rstrip("*") for n in nodes if isinstance(n, PartyNamed | Area) for k in n.names}
        ),
        FIRE_EXAMPLES=[(r, ex) for r in pack.rules for ex in r.examples.fire],
        SCREENER=screener,
        CAPS=caps,
        EVALUATOR=Evaluator(pack, screener=screener, caps=caps, exemptions=register),
        UNFILTERED=Evaluator(
            pack, screener=screener, caps=caps, exemptions=register, prefilter=False
        ),
        ORACLE=Oracle(pack, exemptions=register, caps=caps),
    )


def _bounds(pack: RulePack, entries: dict) -> list[datetime]:
    out: list[datetime] = []
    for r in pack.rules:
        out.append(start_utc(r.effective_from))
        if r.effective_to is not None:
            out.append(end_utc(r.effective_to))
        for w in r.suspended:
            out += [start_utc(w.from_), end_utc(w.to)]
        if r.wind_down is not None:
            out.append(end_utc(r.wind_down.until))
        out += [start_utc(n.at) for n in r.when.nodes() if isinstance(n, Occurred)]
    for e in entries.values():
        out.append(start_utc(e.valid_from))
        if e.valid_to is not None:
            out.append(end_utc(e.valid_to))
    return sorted(set(out))


DELTAS = [
    timedelta(0),
    timedelta(microseconds=-1),
    timedelta(microseconds=1),
    timedelta(seconds=-1),
    timedelta(hours=-5),
    timedelta(hours=13),
    timedelta(days=-1),
    timedelta(days=1),
]

# -- strategies ----------------------------------------------------------------------------------
countries = st.deferred(lambda: st.sampled_from(world().COUNTRIES))


@st.composite
def instants(draw) -> str:
    if draw(st.booleans()):
        t = draw(st.sampled_from(world().BOUNDS)) + draw(st.sampled_from(DELTAS))
    else:
        t = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(
            seconds=draw(st.integers(0, 40 * 365 * 86400))
        )
    tz = timezone(timedelta(minutes=draw(st.sampled_from([0, -240, 540, 330, -720, 840]))))
    return t.astimezone(tz).isoformat()


@st.composite
def hs_codes(draw) -> str | None:
    mode = draw(st.integers(0, 4))
    if mode == 0:
        return None
    if mode == 4:
        return "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=2, max_size=10)))
    p = draw(st.sampled_from(world().PREFIXES))
    if mode == 1:
        return p
    if mode == 2:
        return p[: draw(st.integers(2, len(p)))]
    tail = "".join(draw(st.lists(st.sampled_from("0123456789"), max_size=10 - len(p))))
    return p + tail


@st.composite
def descriptions(draw) -> str | None:
    words = draw(
        st.lists(
            st.sampled_from(
                [*world().KEYWORDS, "assorted", "spare", "parts", "Munición", "x-ray", "ÄRMS"]
            ),
            max_size=3,
        )
    )
    if not words and draw(st.booleans()):
        return None
    sep = draw(st.sampled_from([" ", ", ", "-", "_", "/"]))
    suffix = draw(st.sampled_from(["", "s", "es", "ING"]))
    text = sep.join(words) + suffix
    return text or "goods"


@st.composite
def goods(draw) -> dict:
    g: dict = {}
    code = draw(hs_codes())
    desc = draw(descriptions())
    if code:
        g["hs_code"] = code
    if desc or not code:
        g["description"] = desc or "unspecified cargo"
    if draw(st.booleans()):
        g["quantity"] = draw(st.sampled_from([0, 1, 500, 10_000, 2_000_000]))
        g["unit"] = draw(st.sampled_from(["t", "bbl", "kg", "usd", "pcs"]))
    if draw(st.booleans()):
        g["origin_country"] = draw(countries)
    return g


PARTY_NAMES = st.deferred(lambda: st.sampled_from(["P", "Unnamed trading co", *world().NAMES]))
PLACE_NAMES = st.deferred(lambda: st.sampled_from([None, None, "Port Sudan", *world().NAMES]))


@st.composite
def _named_place(draw, c: str) -> dict:
    name = draw(PLACE_NAMES)
    return {"country": c} if name is None else {"country": c, "name": name}


def _place(c: str) -> dict:
    return {"country": c}


@st.composite
def shipments(draw, when: str) -> dict:
    s = {
        "origin": _place(draw(countries)),
        "destination": draw(_named_place(draw(countries))),
        "route": [draw(_named_place(c)) for c in draw(st.lists(countries, max_size=2))],
        "goods": draw(st.lists(goods(), min_size=1, max_size=3)),
        "parties": [
            {
                "role": draw(
                    st.sampled_from(
                        ["consignee", "charterer", "insurer", "vessel_owner", "end_user"]
                    )
                ),
                "name": draw(PARTY_NAMES),
                "country": draw(countries),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "mode": draw(st.sampled_from(["sea", "air", "rail"])),
    }
    if draw(st.booleans()):
        s["vessel"] = {"name": "V", "flag": draw(countries)}
    if draw(st.integers(0, 2)) == 0:
        s["exemption_ref"] = draw(st.sampled_from(world().REFS))
    if draw(st.integers(0, 2)) == 0:
        s["notification_ref"] = draw(st.sampled_from(world().REFS))
    return s


@st.composite
def movements(draw) -> dict:
    kind = draw(
        st.sampled_from(["port_call", "ship_to_ship", "ais_gap", "flag_change", "name_change"])
    )
    vm: dict = {"kind": kind, "vessel": {"name": "V", "flag": draw(countries)}}
    if kind == "port_call" or draw(st.booleans()):
        vm["port"] = _place(draw(countries))
    if kind == "ship_to_ship" or draw(st.booleans()):
        vm["counterpart_vessel"] = {"name": "C", "flag": draw(countries)}
    if kind in ("flag_change", "name_change"):
        vm["previous"] = {"flag": draw(countries), "name": "OLD"}
    op = draw(st.sampled_from([None, "load", "discharge", "transfer"]))
    if op:
        vm["cargo_operation"] = op
    vm["cargo"] = draw(st.lists(goods(), max_size=2))
    return vm


@st.composite
def entities(draw) -> dict:
    return {
        "action": draw(st.sampled_from(["onboard", "update", "offboard"])),
        "id": "E1",
        "kind": draw(st.sampled_from(["person", "organization", "vessel"])),
        "name": "N",
        "country": draw(countries),
        "flag": draw(countries),
        "owners": [
            {"name": "O", "country": draw(countries)} for _ in range(draw(st.integers(0, 2)))
        ],
    }


def rule_bounds(rule) -> list[datetime]:
    out = [start_utc(rule.effective_from)]
    if rule.effective_to is not None:
        out.append(end_utc(rule.effective_to))
    for w in rule.suspended:
        out += [start_utc(w.from_), end_utc(w.to)]
    if rule.wind_down is not None:
        out.append(end_utc(rule.wind_down.until))
    return out


@st.composite
def mutated_examples(draw) -> tuple[Event, list[ScreeningHit]]:
    """A rule's `fire` example, nudged: to its own date boundaries, other countries, other codes."""
    rule, ex = draw(st.sampled_from(world().FIRE_EXAMPLES))
    raw = ex.event.model_dump(mode="json", exclude_none=True)
    body = raw[raw["event_type"]]
    if draw(st.booleans()):
        t = draw(st.sampled_from(rule_bounds(rule))) + draw(st.sampled_from(DELTAS))
        raw["occurred_at"] = t.astimezone(
            timezone(timedelta(hours=draw(st.sampled_from([0, 9, -4]))))
        ).isoformat()
    lines = body.get("goods") or body.get("cargo") or []
    for g in lines:
        if g.get("hs_code") and draw(st.integers(0, 3)) == 0:
            g["hs_code"] = g["hs_code"][: draw(st.integers(2, len(g["hs_code"])))]
        if draw(st.integers(0, 5)) == 0:
            g.pop("hs_code", None)
            g.setdefault("description", draw(st.sampled_from(world().KEYWORDS)))
    for key in ("origin", "destination", "port"):
        if key in body and draw(st.integers(0, 4)) == 0:
            body[key] = {"country": draw(countries)}
    for key in ("vessel", "counterpart_vessel"):
        if key in body and draw(st.integers(0, 4)) == 0:
            body[key]["flag"] = draw(countries)
    if raw["event_type"] == "shipment" and draw(st.integers(0, 3)) == 0:
        body["exemption_ref"] = draw(st.sampled_from(world().REFS))
    found = list(ex.hits) if draw(st.booleans()) else draw(hits())
    try:
        return Event.model_validate(raw), found
    except Exception:
        return ex.event, found


@st.composite
def events(draw) -> Event:
    when = draw(instants())
    etype = draw(st.sampled_from(["shipment", "shipment", "vessel_movement", "entity"]))
    body = (
        draw(shipments(when))
        if etype == "shipment"
        else draw(movements())
        if etype == "vessel_movement"
        else draw(entities())
    )
    return Event.model_validate(
        {
            "event_id": "gen",
            "event_type": etype,
            "occurred_at": when,
            "source": "hypothesis",
            etype: body,
        }
    )


@st.composite
def hits(draw) -> list[ScreeningHit]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        out.append(ScreeningHit(
            path="shipment.parties[0]", role=draw(st.sampled_from([None, "consignee", "vessel", "counterpart_vessel", "entity", "owner", "charterer"])),
            queried="Q", list_regime=draw(st.sampled_from(REGIMES)), reference="KPe.001",
            entry_name="E", entry_kind=draw(st.sampled_from(["individual", "entity", "vessel"])), matched="Q",
            method=draw(st.sampled_from(["imo", "name_exact", "name_fuzzy"])), score=draw(st.sampled_from([0.8, 0.95, 1.0])),
            explanation="generated", list_version="v",
        ))  # fmt: skip
    return out


caps_usage = st.one_of(
    st.none(),
    st.builds(
        CapUsage,
        prior=st.sampled_from([0.0, 400_000.0, 499_999.0, 7_499_999.0]),
        this=st.sampled_from([0.0, 1.0, 600.0, 2_000_000.0]),
    ),
)


def check_agreement(event: Event, found: list[ScreeningHit], usage: CapUsage | None) -> None:
    world().CAPS.value = usage
    world().SCREENER.hits = found
    durable = world().EVALUATOR.match(world().EVALUATOR.facts_of(event, found, prefix="p"))
    oracle = world().ORACLE.matches(event, found, prefix="p")
    assert durable == oracle
    # the pre-filter only skips facts that cannot match
    assert (
        world().UNFILTERED.match(world().UNFILTERED.facts_of(event, found, prefix="p")) == durable
    )
    decision = world().EVALUATOR.evaluate(event)
    assert {v.rule_id for v in decision.violations} == {r for (_k, r) in oracle}
    assert decision.status == ("flagged" if oracle else "clear")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events(), found=hits(), usage=caps_usage)
def test_durable_path_and_oracle_agree_on_random_events(event, found, usage):
    check_agreement(event, found, usage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated_examples(), usage=caps_usage)
def test_durable_path_and_oracle_agree_near_rule_examples(case, usage):
    event, found = case
    check_agreement(event, found, usage)


def test_generators_reach_both_sides():
    """Guard against a vacuous property: generated events can fire rules, and can stay clear."""
    from hypothesis import find

    fires = find(
        events(),
        lambda ev: bool(world().ORACLE.matches(ev)),
        settings=settings(max_examples=2000, database=None, deadline=None),
    )
    assert world().ORACLE.matches(fires)
    stays_clear = find(
        events(),
        lambda ev: not world().ORACLE.matches(ev),
        settings=settings(max_examples=500, database=None, deadline=None),
    )
    assert not world().ORACLE.matches(stays_clear)


def test_rule_boundaries_are_in_the_generator():
    assert datetime(2006, 10, 14, tzinfo=UTC) in world().BOUNDS  # 1718 (2006) adoption
    assert datetime(2009, 6, 12, tzinfo=UTC) in world().BOUNDS  # 1874 (2009)

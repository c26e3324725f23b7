"""Facts and direction resolution (rules/README.md §3, §6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.facts import FactBuilder, build_facts, direction_sets, epoch_us, resolve_direction
from engine.rules.schema import normalise_keyword


def ship(origin="CN", dest="RU", route=(), goods=None, **extra):
    return Event.model_validate({
        "event_id": "e1", "event_type": "shipment", "occurred_at": "2023-09-07T06:00:00+09:00", "source": "t",
        "shipment": {
            "origin": {"country": origin, "name": "O"}, "destination": {"country": dest},
            "route": [{"country": c} for c in route], "goods": goods or [{"hs_code": "930690"}], **extra,
        },
    })  # fmt: skip


def move(kind, op=None, flag="PA", other=None, port=None, cargo=None, previous=None):
    vm = {
        "kind": kind,
        "vessel": {"name": "V", "flag": flag},
        "cargo": cargo or [{"hs_code": "2701"}],
    }
    if op:
        vm["cargo_operation"] = op
    if other:
        vm["counterpart_vessel"] = {"name": "C", "flag": other}
    if port:
        vm["port"] = {"country": port}
    if previous:
        vm["previous"] = {"flag": previous}
    return Event.model_validate(
        {
            "event_id": "m1",
            "event_type": "vessel_movement",
            "occurred_at": "2018-01-19T03:10:00Z",
            "source": "t",
            "vessel_movement": vm,
        }
    )


def goods_fact(event, n=0):
    return [f for f in build_facts(event) if f.kind == "goods"][n]


def test_shipment_direction_uses_the_whole_route():
    d = resolve_direction(ship("KP", "RU", route=["CN"]))
    assert set(d.from_) == {"KP", "CN"}  # origin and transit
    assert set(d.to) == {"CN", "RU"}  # transit and destination
    assert d.from_["KP"] == ["shipment.origin.country"]
    assert d.to["CN"] == ["shipment.route[0].country"]


def test_goods_origin_is_an_export_from_that_country_even_after_transshipment():
    e = ship("CN", "RU", goods=[{"hs_code": "270119", "origin_country": "KP"}, {"hs_code": "8471"}])
    f0, f1 = goods_fact(e, 0), goods_fact(e, 1)
    assert f0.fields.get("from__KP") is True
    assert "from__KP" not in f1.fields  # only the line of DPRK origin
    assert resolve_direction(e).line_from[0]["KP"] == ["shipment.goods[0].origin_country"]


def test_transit_through_the_dprk_is_both_to_and_from():
    f = goods_fact(ship("RU", "CN", route=["KP"]))
    assert (
        f.fields["to__KP"] is True
        and f.fields["from__KP"] is True
        and f.fields["touches__KP"] is True
    )


@pytest.mark.parametrize(
    ("event", "to", "frm"),
    [
        (
            move("port_call", "load", flag="PA", port="KP"),
            {"PA"},
            {"KP"},
        ),  # coal loaded in a DPRK port
        (move("port_call", "discharge", flag="KP", port="CN"), {"CN"}, {"KP"}),
        (move("port_call", None, flag="PA", port="KP"), set(), set()),
        (
            move("ship_to_ship", "discharge", flag="HK", other="KP"),
            {"KP"},
            {"HK"},
        ),  # into a DPRK vessel
        (move("ship_to_ship", "load", flag="HK", other="KP"), {"HK"}, {"KP"}),
        (move("ship_to_ship", "transfer", flag="HK", other="KP"), {"HK", "KP"}, {"HK", "KP"}),
        (move("ship_to_ship", None, flag="HK", other="KP"), {"HK", "KP"}, {"HK", "KP"}),
        (move("flag_change", None, flag="KP", previous="PA"), set(), set()),
    ],
)
def test_vessel_movement_direction(event, to, frm):
    d = resolve_direction(event)
    assert set(d.to) == to and set(d.from_) == frm
    fast_to, fast_from, _touch, _origins = direction_sets(event)
    assert fast_to == to and fast_from == frm  # the fast path agrees with the provenance path


def test_port_call_touches_the_port_country():
    f = goods_fact(move("port_call", None, port="KP"))
    assert f.fields["touches__KP"] is True and "to__KP" not in f.fields


def test_context_fields_and_hs_prefixes():
    f = goods_fact(ship("KP", "RU", vessel={"name": "ANGARA", "flag": "RU"}))
    assert f.fields["hs2"] == "93" and f.fields["hs4"] == "9306" and f.fields["hs6"] == "930690"
    assert f.fields["vessel_flag"] == "RU" and f.fields["origin_country"] == "KP"
    assert f.fields["occurred"] == epoch_us(datetime(2023, 9, 6, 21, 0, tzinfo=UTC))
    assert f.payload["path"] == "shipment.goods[0]"


def test_short_code_has_only_its_own_prefixes():
    f = goods_fact(ship(goods=[{"hs_code": "930"}]))
    assert f.fields["hs2"] == "93" and "hs4" not in f.fields and f.fields["hs_code"] == "930"


def test_keyword_flags_only_without_hs_code():
    kw = normalise_keyword("munition*")
    b = FactBuilder([kw])
    e = ship(
        goods=[
            {"description": "Artillery MUNITIONS, 122mm"},
            {"hs_code": "8471", "description": "munitions"},
        ]
    )
    fs = [f for f in b.build(e) if f.kind == "goods"]
    flagged = [k for k in fs[0].fields if k.startswith("kw__")]
    assert len(flagged) == 1 and fs[0].fields["hs_missing"] is True
    assert not [k for k in fs[1].fields if k.startswith("kw__")]


def test_no_reserved_keys_reach_the_fact_top_level():
    e = Event.model_validate({
        "event_id": "x", "event_type": "entity", "occurred_at": "2024-01-01T00:00:00Z", "source": "t",
        "entity": {"action": "onboard", "id": "CP-1", "kind": "vessel", "name": "N", "flag": "KP", "owners": [{"name": "O", "country": "KP"}]},
    })  # fmt: skip
    hit = ScreeningHit(path="entity", role="entity", queried="N", list_regime="DPRK", reference="KPe.1 ", entry_name="N",
                       entry_kind="entity", matched="N", method="name_exact", score=1.0, explanation="x", list_version="v")  # fmt: skip
    facts = build_facts(e, [hit])
    assert {f.kind for f in facts} == {"party", "hit", "event"}
    for f in facts:
        assert not ({"id", "sid"} & f.fields.keys())
        assert not any(k.startswith("$") for k in f.fields)
        assert all(not isinstance(v, dict | list) for v in f.fields.values())  # flat
    hit_fact = next(f for f in facts if f.kind == "hit")
    assert hit_fact.fields["reference"] == "KPe.1" and hit_fact.fields["entity_flag"] == "KP"


def test_restricted_builder_emits_only_requested_fields():
    b = FactBuilder(fields={"kind", "hs2", "from__KP", "occurred"})
    f = [x for x in b.build(ship("KP", "RU", route=["CN"])) if x.kind == "goods"][0]
    assert set(f.fields) == {"kind", "hs2", "from__KP", "occurred"}

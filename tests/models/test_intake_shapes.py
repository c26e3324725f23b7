"""Issue 8: each messy shape real upstream data has is accepted (202), decided, and reported.

Posted through the real HTTP ingest; then decided by the real evaluator (full rule pack) from the
stored raw event, as the worker does. Strict mode (``Prefer: handling=strict``) refuses each one.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack

RULES = Path(__file__).resolve().parents[2] / "rules"


def _event(eid: str, kind: str, body: dict, when: str = "2023-09-07T06:00:00+09:00") -> dict:
    return {"event_id": eid, "event_type": kind, "occurred_at": when, "source": "tms", kind: body}


ARMS = {"hs_code": "9306", "description": "artillery ammunition", "quantity": 10, "unit": "t"}
SHAPES = {
    # name: (event, pointer of a finding, expected violation or None, needs_information)
    "flag-only vessel": (
        _event("s-flag", "vessel_movement", {"kind": "port_call", "vessel": {"flag": "DPRK"},
               "port": {"country": "RU", "name": "Vladivostok"}, "cargo_operation": "discharge",
               "cargo": [{"hs_code": "2701", "description": "coal", "quantity": 5000, "unit": "tonnes"}]},
               "2019-03-01T00:00:00Z"),
        "/vessel_movement/vessel/name", "UNSCR-2371-OP8", False),
    "stateless dhow, no name": (
        _event("s-dhow", "vessel_movement", {"kind": "ship_to_ship", "vessel": {},
               "counterpart_vessel": {"name": "X", "flag": "PA"}, "cargo_operation": "load",
               "cargo": [{"hs_code": "2710", "description": "diesel", "quantity": 100, "unit": "MT"}]},
               "2018-05-01T00:00:00Z"),
        "/vessel_movement/vessel", None, None),
    "STS, counterpart omitted": (
        _event("s-sts", "vessel_movement", {"kind": "ship_to_ship", "vessel": {"name": "T", "flag": "PA"},
               "cargo_operation": "discharge", "position": {"lat": 39.0, "lon": 124.0},
               "cargo": [{"hs_code": "2710", "description": "refined petroleum", "quantity": 600, "unit": "bbls"}]},
               "2018-05-01T00:00:00Z"),
        "/vessel_movement/counterpart_vessel", "UNSCR-2375-OP11", True),
    "units outside the list": (
        _event("s-units", "shipment", {"origin": {"country": "KP"}, "destination": {"country": "RU"},
               "goods": [{"hs_code": "9306", "description": "shells", "quantity": 3, "unit": "rounds"},
                         {"hs_code": "8710", "quantity": 2, "unit": "H87"}]}),
        "/shipment/goods/0/unit", "UNSCR-1874-OP9", False),
    "several HS codes, HS prefix": (
        _event("s-hs", "shipment", {"origin": {"country": "KP"}, "destination": {"country": "RU"},
               "goods": [{"hs_code": "HS 8710/9301", "description": "vehicles or guns"}]}),
        "/shipment/goods/0/hs_code", "UNSCR-1874-OP9", False),
    "countries as names and alpha-3, port without country": (
        _event("s-names", "shipment", {"origin": "Rajin", "destination": {"country": "Russian Federation"},
               "vessel": {"name": "ANGARA", "flag": "RUS"}, "goods": [ARMS]}),
        "/shipment/origin", "UNSCR-1874-OP9", False),
    "UN/LOCODE without country": (
        _event("s-locode", "shipment", {"origin": {"locode": "KPNJN"}, "destination": {"country": "North Korea"},
               "goods": [ARMS]}),
        "/shipment/origin/country", "UNSCR-1874-OP10", False),
    "day-only date": (
        _event("s-day", "shipment", {"origin": {"country": "KP"}, "destination": {"country": "RU"}, "goods": [ARMS]},
               "2023-09-07"),
        "/occurred_at", "UNSCR-1874-OP9", False),
    "arms to an unknown destination": (
        _event("s-dest", "shipment", {"origin": {"country": "DE"}, "destination": {"name": "somewhere"}, "goods": [ARMS]}),
        "/shipment/destination/country", "UNSCR-1874-OP10", True),
    "bad IMO check digit, malformed MMSI, impossible date": (
        _event("s-ids", "shipment", {"origin": {"country": "KP"}, "destination": {"country": "RU"},
               "vessel": {"name": "ANGARA", "imo": "9191774", "mmsi": "12AB"}, "departure_date": "2023-02-30",
               "goods": [ARMS]}),
        "/shipment/vessel/imo", "UNSCR-1874-OP9", False),
}  # fmt: skip


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(load_pack(RULES))


@pytest.mark.parametrize("name", list(SHAPES))
def test_messy_shape_is_accepted_decided_and_reported(name, api_client, evaluator) -> None:
    raw, pointer, rule, needs_info = SHAPES[name]
    strict = api_client.post("/api/v1/events", json=raw, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 422, strict.get_data(as_text=True)
    r = api_client.post("/api/v1/events", json=copy.deepcopy(raw))
    assert r.status_code == 202, r.get_data(as_text=True)
    assert pointer in [f["pointer"] for f in r.json["data_quality"]], r.json["data_quality"]
    stored = api_client.get(f"/api/v1/events/{raw['event_id']}").json["event"]
    decision = evaluator.evaluate(Event.model_validate(stored))
    assert pointer in [f["pointer"] for f in decision.data_quality]
    if rule is not None:
        v = {x.rule_id: x for x in decision.violations}
        assert rule in v, (name, sorted(v))
        assert v[rule].needs_information is needs_info, v[rule]
    else:
        assert decision.status in ("clear", "flagged")

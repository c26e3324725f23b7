"""Each vessel-history behaviour fires from vessel_movement / shipment events pushed through the
HTTP intake and decided by the pipeline's evaluator (full pack, history from the real store), with
evidence naming the earlier events it relied on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from engine.pipeline.decide import decide_stored


@pytest.fixture
def push(api_client):
    run = uuid.uuid4().hex[:8]

    def _push(name: str, body: dict[str, Any], when: str) -> tuple[str, dict[str, Any]]:
        event_id = f"vh-{run}-{name}"
        event = {"event_id": event_id, "occurred_at": when, "source": "pytest", **body}
        resp = api_client.post("/api/v1/events", json=event)
        assert resp.status_code in (200, 202), resp.get_json()
        decide_stored([event_id])
        got = api_client.get(f"/api/v1/events/{event_id}").get_json()
        assert got["decision"] is not None
        return event_id, got["decision"]

    return _push


def movement(**body: Any) -> dict[str, Any]:
    return {"event_type": "vessel_movement", "vessel_movement": body}


def relied_on(decision: dict[str, Any], rule_id: str) -> list[str]:
    (v,) = [v for v in decision["violations"] if v["rule_id"] == rule_id]
    return [e["value"] for e in v["evidence"] if e["path"].startswith("history.")]


def fired(decision: dict[str, Any]) -> set[str]:
    return {v["rule_id"] for v in decision["violations"]}


def test_port_call_and_rename_after_a_flagged_arms_voyage(push):
    vessel = {"name": "ANGARA", "imo": "9123453", "flag": "RU"}
    voyage, d = push(
        "voyage",
        {"event_type": "shipment", "shipment": {
            "mode": "sea", "vessel": vessel, "origin": {"country": "KP", "name": "Najin"},
            "destination": {"country": "RU", "name": "Dunay"},
            "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]}},
        "2018-09-07T06:00:00+09:00",
    )  # fmt: skip
    assert d["status"] == "flagged"
    _, call = push(
        "call",
        movement(kind="port_call", vessel={**vessel, "name": "SOLAR"}, port={"country": "CN"}),
        "2019-06-01T08:00:00Z",
    )
    assert {"UNSCR-2397-OP9-PORT", "UNSCR-2397-OP12-IDENTITY"} <= fired(call)
    assert relied_on(call, "UNSCR-2397-OP9-PORT") == [voyage]
    assert relied_on(call, "UNSCR-2397-OP12-IDENTITY") == [voyage]
    # the next call relies on the voyage again, not on the call's history-based findings
    _, again = push(
        "call-2", movement(kind="port_call", vessel=vessel, port={"country": "CN"}),
        "2019-07-01T08:00:00Z",
    )  # fmt: skip
    assert relied_on(again, "UNSCR-2397-OP9-PORT") == [voyage]


def test_sts_chain_coal_discharged_after_transfer_from_dprk_vessel(push):
    vessel = {"name": "HUA FU", "imo": "9468023", "flag": "PA"}
    sts, d = push(
        "sts",
        movement(kind="ship_to_ship", vessel=vessel, cargo_operation="load",
                 counterpart_vessel={"name": "KUM UN SAN", "flag": "KP"},
                 position={"lat": 39.2, "lon": 124.0}),
        "2018-10-15T00:00:00Z",
    )  # fmt: skip
    assert "UNSCR-2375-OP11" in fired(d)
    _, discharge = push(
        "discharge",
        movement(kind="port_call", vessel=vessel, port={"country": "VN", "name": "Cam Pha"},
                 cargo_operation="discharge",
                 cargo=[{"hs_code": "270112", "description": "anthracite", "quantity": 5000,
                         "unit": "t", "origin_country": "RU"}]),
        "2018-11-20T00:00:00Z",
    )  # fmt: skip
    assert relied_on(discharge, "UNSCR-2371-OP8-STS-CHAIN") == [sts]


def test_dark_period_near_dprk_then_port_call(push):
    vessel = {"name": "NEW REGENT", "mmsi": "352001234", "flag": "PA"}
    gap, _ = push(
        "gap",
        movement(kind="ais_gap", vessel=vessel, position={"lat": 38.3, "lon": 124.9},
                 end_position={"lat": 38.6, "lon": 125.1}),
        "2019-02-01T00:00:00Z",
    )  # fmt: skip
    _, call = push(
        "call", movement(kind="port_call", vessel=vessel, port={"country": "CN"}),
        "2019-02-20T00:00:00Z",
    )  # fmt: skip
    assert relied_on(call, "UNSCR-2397-OP9-DARK") == [gap]
    _, far = push(
        "call-far",
        movement(kind="port_call", vessel={**vessel, "mmsi": "352001235"}, port={"country": "CN"}),
        "2019-02-20T00:00:00Z",
    )  # fmt: skip
    assert "UNSCR-2397-OP9-DARK" not in fired(far)


def test_flag_hopping_identity_conflict_and_designated_alias(push):
    base = {"name": "HAI RUI", "imo": "9357119"}
    first, _ = push(
        "pa", movement(kind="port_call", vessel={**base, "flag": "PA", "mmsi": "352998877"},
                       port={"country": "SG"}),
        "2019-01-01T00:00:00Z",
    )  # fmt: skip
    second, _ = push(
        "tg", movement(kind="flag_change", vessel={**base, "flag": "TG"}, previous={"flag": "PA"}),
        "2019-05-01T00:00:00Z",
    )  # fmt: skip
    third, d = push(
        "km", movement(kind="flag_change", vessel={**base, "flag": "KM"}, previous={"flag": "TG"}),
        "2019-09-01T00:00:00Z",
    )  # fmt: skip
    assert relied_on(d, "UNSCR-2397-OP12-FLAG-HOPPING") == [second, third]
    # another IMO broadcasting the first hull's MMSI
    _, clash = push(
        "clash",
        movement(kind="port_call", vessel={"name": "HAI RUI", "imo": "9579133",
                                           "mmsi": "352998877"}, port={"country": "CN"}),
        "2019-10-01T00:00:00Z",
    )  # fmt: skip
    assert relied_on(clash, "UNSCR-2397-OP9-IDENTITY-CONFLICT") == [first]
    # a designated hull (PO THONG GANG, IMO 8829555) under a name the register does not know
    _, alias = push(
        "alias",
        movement(kind="port_call", vessel={"name": "SUN RISE 7", "imo": "8829555"},
                 port={"country": "CN"}),
        "2019-03-01T00:00:00Z",
    )  # fmt: skip
    assert "UNSCR-2321-OP12-ALIAS" in fired(alias)

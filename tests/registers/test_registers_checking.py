"""Citing events checked against the API-registered entry, through the pipeline (issue 12):
clear for the covered rules only when the entry is approved, in its dates and matches the goods,
destination and holder; one test per mismatch kind, each naming the mismatch in the reason.

Entries go in through POST /api/v1/exemptions (scope registers:write) and are approved with a
second key (registers:approve); events through POST /api/v1/events; the worker's decide_stored
evaluates them with the process-wide evaluator, which reads the stored registers.
"""

from __future__ import annotations

from typing import Any

import pytest
from registers_support import HUMANITARIAN, Desk, shipment

REF = HUMANITARIAN["ref"]
RULE = "UNSCR-2397-OP7"  # industrial machinery (HS 84) to the DPRK: lifted by the exemption


@pytest.fixture
def desk(db, broker_url):
    from web import create_app

    app = create_app({"TESTING": True, "SANCTIONS_BROKER_URL": broker_url})
    return Desk(app.test_client())


def _violation(decision: dict[str, Any], rule_id: str = RULE) -> dict[str, Any] | None:
    return next((v for v in decision["violations"] if v["rule_id"] == rule_id), None)


def test_without_a_reference_the_shipment_is_flagged(desk) -> None:
    d = desk.decide(shipment(ref=None, event_id="reg-none"))
    assert _violation(d) is not None
    # nothing cited (the version is recorded only if a cap total read the notifications)
    assert not any("_ref" in n for n in d["register_notes"])


def test_the_approved_matching_entry_clears_the_covered_rule(desk) -> None:
    desk.register()
    d = desk.decide(shipment(event_id="reg-valid"))
    assert _violation(d) is None
    assert _violation(d, "EXEMPT-2397-OP25") is None
    assert d["register_version"] == 2  # recorded (v1) and approved (v2)
    assert any(REF in n and "approved exemption" in n for n in d["register_notes"])


def _flagged_because(desk, event: dict[str, Any], *phrases: str, status: str) -> dict[str, Any]:
    d = desk.decide(event)
    v = _violation(d)
    assert v is not None, d
    assert f"({status})" in v["reason"], v["reason"]
    for p in phrases:
        assert p in v["reason"], (p, v["reason"])
    return d


def test_pending_approval_does_not_clear(desk) -> None:
    desk.register(approve=False)
    _flagged_because(
        desk, shipment(event_id="reg-pending"), "not been approved", status="not_approved"
    )


def test_revoked_does_not_clear(desk) -> None:
    desk.register()
    gone = desk.client.post(
        f"/api/v1/exemptions/{REF}/revoke", json={"reason": "withdrawn"}, headers=desk.maker
    )
    assert gone.status_code == 200
    _flagged_because(desk, shipment(event_id="reg-revoked"), "revoked", status="revoked")


def test_before_its_dates_does_not_clear(desk) -> None:
    desk.register()
    event = shipment(event_id="reg-early", occurred_at="2024-01-09T23:00:00Z")
    _flagged_because(desk, event, "valid only from 2024-01-10", status="not_yet_valid")


def test_after_its_dates_does_not_clear(desk) -> None:
    desk.register()
    event = shipment(event_id="reg-late", occurred_at="2024-07-11T00:00:00Z")
    _flagged_because(desk, event, "expired (valid to 2024-07-10)", status="expired")


def test_an_unknown_reference_does_not_clear(desk) -> None:
    desk.register()
    d = _flagged_because(
        desk, shipment("1718-HUM-2024-999", event_id="reg-unknown"), "not in the register",
        status="unknown",
    )  # fmt: skip
    assert _violation(d, "EXEMPT-2397-OP25") is not None  # a reference the register does not hold


def test_an_entry_for_other_measures_does_not_clear(desk) -> None:
    desk.register(covers=["UNSCR-2397-OP14"])
    _flagged_because(
        desk, shipment(event_id="reg-covers"), "covers UNSCR-2397-OP14, not UNSCR-2397-OP7",
        status="not_covering",
    )  # fmt: skip


def test_an_entry_of_another_regime_does_not_clear(desk) -> None:
    desk.register(regime="Iran", covers=[])
    _flagged_because(desk, shipment(event_id="reg-regime"), "Iran entry", status="not_covering")


def test_other_goods_do_not_clear(desk) -> None:
    desk.register()
    laptops = [{"hs_code": "847130", "description": "laptop computers", "quantity": 1, "unit": "t"}]
    event = shipment(event_id="reg-goods", shipment__goods=laptops)
    _flagged_because(
        desk, event, "goods line 1 (HS 847130) is not among the goods it covers", status="mismatch"
    )


def test_more_than_the_exempted_quantity_does_not_clear(desk) -> None:
    desk.register()
    heavy = [{"hs_code": "843880", "description": "food-processing machinery", "quantity": 25000, "unit": "kg"}]  # fmt: skip
    event = shipment(event_id="reg-qty", shipment__goods=heavy)
    _flagged_because(desk, event, "25000 kg exceeds the 20 t allowed", status="mismatch")


def test_another_destination_does_not_clear(desk) -> None:
    desk.register()
    # through Rajin (KP) on to Vladivostok: still a supply into the DPRK, not to the exempted end
    event = shipment(
        event_id="reg-dest",
        shipment__destination={"country": "RU", "name": "Vladivostok"},
        shipment__route=[{"country": "KP", "name": "Rajin"}],
    )
    _flagged_because(desk, event, "the destination is RU, not KP", status="mismatch")


def test_another_holder_does_not_clear(desk) -> None:
    desk.register()
    parties = [
        {"role": "consignor", "name": "Dalian Ocean Trading Co", "country": "CN"},
        {"role": "consignee", "name": "Nampo Food Processing Cooperative", "country": "KP"},
    ]
    event = shipment(event_id="reg-holder", shipment__parties=parties)
    _flagged_because(
        desk, event, "no party matches the holder World Food Programme (IT)", status="mismatch"
    )


def test_the_holder_in_another_country_does_not_clear(desk) -> None:
    desk.register()
    parties = [
        {"role": "consignor", "name": "World Food Programme", "country": "CN"},
        {"role": "consignee", "name": "Nampo Food Processing Cooperative", "country": "KP"},
    ]
    event = shipment(event_id="reg-holder-cc", shipment__parties=parties)
    _flagged_because(desk, event, "holder World Food Programme (IT)", status="mismatch")


def test_another_end_user_does_not_clear(desk) -> None:
    desk.register()
    parties = [
        {"role": "consignor", "name": "World Food Programme", "country": "IT"},
        {"role": "consignee", "name": "Korea Ryonbong General Corporation", "country": "KP"},
    ]
    event = shipment(event_id="reg-enduser", shipment__parties=parties)
    _flagged_because(desk, event, "the end user is not Nampo Food Processing", status="mismatch")


def test_every_mismatch_is_named(desk) -> None:
    desk.register(approve=False)
    event = shipment(
        event_id="reg-all",
        occurred_at="2024-08-01T00:00:00Z",
        shipment__destination={"country": "RU", "name": "Vladivostok"},
        shipment__route=[{"country": "KP", "name": "Rajin"}],
        shipment__goods=[
            {"hs_code": "847130", "description": "laptops", "quantity": 1, "unit": "t"}
        ],
        shipment__parties=[{"role": "consignor", "name": "Someone Else Ltd", "country": "CN"}],
    )
    _flagged_because(
        desk, event, "not been approved", "expired", "goods line 1", "destination is RU",
        "no party matches the holder", "the end user is not", status="not_approved",
    )  # fmt: skip


def test_a_replay_reads_the_register_version_the_decision_read(desk) -> None:
    from engine.replay import ensure_pack_stored, replay
    from engine.rules.evaluator import default_evaluator

    ensure_pack_stored(default_evaluator().pack)  # the worker stores it once per process
    desk.register()
    d = desk.decide(shipment(event_id="reg-replay"))
    assert _violation(d) is None and d["register_version"] == 2
    desk.client.post(f"/api/v1/exemptions/{REF}/revoke", json={"reason": "x"}, headers=desk.maker)
    again = replay("reg-replay")
    assert again.identical, again.diff
    assert again.replayed.register_version == 2 and _violation(again.replayed.model_dump()) is None
    later = desk.decide(shipment(event_id="reg-replay-2"))  # the same shipment, decided now
    assert later["register_version"] == 3 and _violation(later) is not None

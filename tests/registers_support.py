"""Shared helpers of the register tests: entry bodies, events and API keys."""

from __future__ import annotations

import copy
from typing import Any

# A 2397 OP25-style humanitarian exemption with every field the checks read.
HUMANITARIAN: dict[str, Any] = {
    "ref": "1718-HUM-2024-017",
    "kind": "exemption",
    "regime": "DPRK",
    "basis": {"resolution": "2397 (2017)", "paragraph": "25"},
    "holder": {"name": "World Food Programme", "country": "IT"},
    "end_user": "Nampo Food Processing Cooperative",
    "goods": [
        {"hs": ["8438"], "description": "food-processing equipment", "quantity": 20, "unit": "t"}
    ],
    "destination": "KP",
    "valid_from": "2024-01-10",
    "valid_to": "2024-07-10",
    "covers": ["UNSCR-2397-OP7", "EXEMPT-2397-OP25"],
    "note": "1718 Committee approval, test entry",
    "document": "S/AC.49/2024/OC.17",
}


def shipment(ref: str | None = "1718-HUM-2024-017", **changes: Any) -> dict[str, Any]:
    """A shipment of food-processing machinery to Nampo citing ``ref``; ``changes`` override
    top-level event keys or, with a ``shipment__`` prefix, shipment keys."""
    s: dict[str, Any] = {
        "mode": "sea",
        "origin": {"country": "CN", "name": "Dalian"},
        "destination": {"country": "KP", "name": "Nampo"},
        "parties": [
            {"role": "consignor", "name": "World Food Programme", "country": "IT"},
            {"role": "consignee", "name": "Nampo Food Processing Cooperative", "country": "KP"},
        ],
        "goods": [
            {
                "hs_code": "843880",
                "description": "food-processing machinery",
                "quantity": 12,
                "unit": "t",
            }
        ],
        "exemption_ref": ref,
    }
    event: dict[str, Any] = {
        "event_id": "reg-ship-1",
        "event_type": "shipment",
        "occurred_at": "2024-03-04T08:00:00Z",
        "source": "pytest",
        "shipment": s,
    }
    for key, value in changes.items():
        if key.startswith("shipment__"):
            s[key.removeprefix("shipment__")] = value
        else:
            event[key] = value
    return event


def keys(*scopes: str) -> str:
    from web.auth.apikeys import create_api_key

    _row, key = create_api_key("-".join(scopes) or "none", list(scopes), actor="pytest")
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


class Desk:
    """The API as an upstream system and two officers' keys see it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.maker = auth(keys("registers:write"))
        self.checker = auth(keys("registers:approve"))
        self.events = auth(keys("events:write", "events:read"))

    def register(
        self, approve: bool = True, base: dict[str, Any] | None = None, **changes: Any
    ) -> dict[str, Any]:
        body = {**copy.deepcopy(HUMANITARIAN if base is None else base), **changes}
        made = self.client.post("/api/v1/exemptions", json=body, headers=self.maker)
        assert made.status_code == 201, made.get_json()
        if approve:
            ok = self.client.post(f"/api/v1/exemptions/{body['ref']}/approve", headers=self.checker)
            assert ok.status_code == 200, ok.get_json()
        return body

    def decide(self, event: dict[str, Any]) -> dict[str, Any]:
        from engine.pipeline.decide import decide_stored

        resp = self.client.post("/api/v1/events", json=event, headers=self.events)
        assert resp.status_code in (200, 202), resp.get_json()
        decide_stored([event["event_id"]])
        got = self.client.get(f"/api/v1/events/{event['event_id']}", headers=self.events)
        decision = got.get_json()["decision"]
        assert decision is not None
        return decision

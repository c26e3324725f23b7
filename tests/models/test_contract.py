"""The event contract v1: valid events pass, bad fields are reported by JSON pointer."""

from __future__ import annotations

import copy

import pytest

from engine.models.events import Event, imo_check_digit_ok, json_schema
from engine.models.validation import validate_event

NAJIN_DUNAY = {
    "event_id": "tms-7:BL-0917",
    "event_type": "shipment",
    "occurred_at": "2023-09-07T06:00:00+09:00",
    "source": "tms-7",
    "shipment": {
        "mode": "sea",
        "vessel": {"name": "ANGARA", "flag": "RU"},
        "origin": {"country": "KP", "name": "Najin"},
        "destination": {"country": "RU", "name": "Dunay"},
        "goods": [
            {
                "hs_code": "9306",
                "description": "artillery ammunition",
                "quantity": 1000,
                "unit": "container",
            }
        ],
    },
}


def test_issue_example_validates() -> None:
    event, errors = validate_event(NAJIN_DUNAY)
    assert errors == []
    assert isinstance(event, Event)
    assert event.shipment is not None
    assert event.shipment.goods[0].hs_code == "9306"
    assert event.occurred_at.utcoffset().total_seconds() == 9 * 3600


def test_hs_code_normalised() -> None:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["shipment"]["goods"][0]["hs_code"] = "9306.90 10"
    event, errors = validate_event(raw)
    assert errors == [] and event.shipment.goods[0].hs_code == "93069010"


def test_unknown_fields_are_kept() -> None:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["shipment"]["x_carrier_booking"] = "ABC"
    event, errors = validate_event(raw)
    assert errors == []
    assert event.model_dump()["shipment"]["x_carrier_booking"] == "ABC"


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda r: r.__setitem__("occurred_at", "2023-09-07T06:00:00"), "/occurred_at"),
        (
            lambda r: r["shipment"]["origin"].__setitem__("country", "XX"),
            "/shipment/origin/country",
        ),
        (
            lambda r: r["shipment"]["goods"][0].__setitem__("hs_code", "9A"),
            "/shipment/goods/0/hs_code",
        ),
        (lambda r: r["shipment"]["vessel"].__setitem__("imo", "9191774"), "/shipment/vessel/imo"),
        (lambda r: r["shipment"].pop("destination"), "/shipment/destination"),
        (lambda r: r.__setitem__("event_type", "invoice"), "/event_type"),
        (lambda r: r.pop("event_id"), "/event_id"),
    ],
)
def test_field_level_errors(mutate, pointer: str) -> None:
    """Strict mode (``Prefer: handling=strict``) refuses every body problem, as v1 did."""
    raw = copy.deepcopy(NAJIN_DUNAY)
    mutate(raw)
    event, errors = validate_event(raw, strict=True)
    assert event is None
    assert pointer in [e.pointer for e in errors], errors


def test_body_must_match_type() -> None:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["event_type"] = "entity"
    event, errors = validate_event(raw)
    assert event is None and any("needs an 'entity' body" in e.message for e in errors)


def test_non_object_is_rejected() -> None:
    event, errors = validate_event(["not", "an", "event"])
    assert event is None and errors[0].pointer == ""


def test_imo_check_digit() -> None:
    # Real IMO numbers of 1718-designated vessels (reference notes A.1).
    for imo in ("9191773", "9114555", "9020534", "7389704"):
        assert imo_check_digit_ok(imo)
    assert not imo_check_digit_ok("9191774")


def test_schema_names_every_body() -> None:
    schema = json_schema()
    assert {"shipment", "entity", "vessel_movement"} <= set(schema["properties"])

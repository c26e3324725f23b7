"""Unknown is not clear, for every measure: property tests over the whole rule pack.

Generated v1 events (the agreement test's generators) are spoiled the way real upstream data is:
values replaced by something unreadable or removed (destination, flags, counterpart, port, HS
code, goods lines, party roles, movement kind and operation, entity fields). Then

- both evaluators (durable_rules and the oracle) still agree, on the unknown level too;
- whatever measure fired on the complete event still fires on the spoiled one (an unknown value
  may be the very value that was there): three-valued evaluation never turns a breach into a clear;
- a spoiled event is accepted and carries an unknown finding for each spoiled value.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rules_agreement import caps_usage, check_agreement, events, hits, world

from engine.models.events import Event

UNREADABLE = "?? see remarks"


def _spoilers(raw: dict) -> list[tuple[str, object]]:
    """(pointer, action) pairs applicable to this event: action "drop" removes the value,
    anything else replaces it."""
    out: list[tuple[str, object]] = []
    kind = raw["event_type"]
    b = raw[kind]
    if kind == "shipment":
        for key in ("origin", "destination"):
            out += [(f"/shipment/{key}/country", UNREADABLE), (f"/shipment/{key}", "drop")]
        for i in range(len(b.get("route", []))):
            out.append((f"/shipment/route/{i}/country", UNREADABLE))
        if "vessel" in b:
            out += [("/shipment/vessel/flag", UNREADABLE), ("/shipment/vessel", {})]
        for i in range(len(b.get("parties", []))):
            out += [
                (f"/shipment/parties/{i}/role", "buyer"),
                (f"/shipment/parties/{i}/country", UNREADABLE),
                (f"/shipment/parties/{i}/name", "drop"),
            ]
        lines = "goods"
    elif kind == "vessel_movement":
        out += [
            ("/vessel_movement/kind", UNREADABLE),
            ("/vessel_movement/vessel/flag", UNREADABLE),
            ("/vessel_movement/vessel", {}),
            ("/vessel_movement/cargo_operation", UNREADABLE),
        ]
        # dropping a value v1 requires makes it unknown (dropping an optional one is v1 as is)
        needs = {"port_call": "port", "ship_to_ship": "counterpart_vessel"}
        needs |= {"flag_change": "previous", "name_change": "previous"}
        if needs.get(b["kind"]) in b:
            out.append((f"/vessel_movement/{needs[b['kind']]}", "drop"))
        if "port" in b:
            out.append(("/vessel_movement/port/country", UNREADABLE))
        if "counterpart_vessel" in b:
            out.append(("/vessel_movement/counterpart_vessel/flag", UNREADABLE))
        lines = "cargo"
    else:
        out += [(f"/entity/{k}", UNREADABLE) for k in ("country", "flag", "kind", "action")]
        for i in range(len(b.get("owners", []))):
            out.append((f"/entity/owners/{i}/country", UNREADABLE))
        lines = ""
    for i in range(len(b.get(lines, []))) if lines else ():
        base = f"/{kind}/{lines}/{i}"
        out += [(f"{base}/hs_code", "9X"), (base, {}), (f"{base}/origin_country", UNREADABLE)]
        out += [(f"{base}/unit", "furlongs"), (f"{base}/quantity", -5)]
    return out


def _apply(raw: dict, ptr: str, action: object) -> None:
    *path, last = ptr.strip("/").split("/")
    node = raw
    for p in path:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = copy.deepcopy(action)
    elif action == "drop":
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(action)


@st.composite
def spoiled(draw) -> tuple[Event, Event, list[str]]:
    clean = draw(events())
    raw = clean.model_dump(mode="json", exclude_none=True)
    options = _spoilers(raw)
    chosen = draw(
        st.lists(st.sampled_from(options), min_size=1, max_size=3, unique_by=lambda x: x[0])
    )
    # apply the deepest pointers last-first so a dropped container does not hide a later edit
    chosen.sort(key=lambda x: x[0].count("/"), reverse=True)
    for ptr, action in chosen:
        _apply(raw, ptr, action)
    return clean, Event.model_validate(raw), [p for p, _a in chosen]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=spoiled(), found=hits(), usage=caps_usage)
def test_unknown_values_are_never_cleared_and_both_evaluators_agree(case, found, usage):
    clean, messy, pointers = case
    assert any(f.unknown for f in messy.quality), messy.quality
    check_agreement(messy, found, usage)  # durable == oracle, with and without the prefilter
    world().CAPS.value = usage
    before = {rule for (_k, rule) in world().ORACLE.matches(clean, found)}
    after = {rule for (_k, rule) in world().ORACLE.matches(messy, found)}
    assert before <= after, (pointers, before - after)

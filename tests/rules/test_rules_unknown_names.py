"""Unknown values under the name tests (rules/README.md §13): a ``party_named`` leaf is undecided
when a party's name, role or country is unknown, an ``area`` leaf when a place's country or name
is, and a ``where: {listed_<regime>: ...}`` test when a name the screener reads is (an unnamed party
cannot be screened). Both evaluators then put the rule at the unknown level: a needs-information
violation, never a silent clear; with the value known, the rule decides as before."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import RulePack, pack_from_files
from engine.rules.oracle import Oracle

ARMS = [{"hs_code": "930190", "description": "assault rifles", "quantity": 10, "unit": "pcs"}]


def _event(shipment: dict[str, Any], at: str = "2024-06-01T00:00:00Z") -> Event:
    return Event.model_validate(
        {
            "event_id": "unk-names",
            "event_type": "shipment",
            "occurred_at": at,
            "source": "test",
            "shipment": {"mode": "sea", "goods": ARMS, **shipment},
        }
    )


def _levels(evaluator: Evaluator, event: Event, rule_id: str) -> tuple[set[str], set[str]]:
    """The levels the rule matched at, by the durable path and by the oracle."""
    durable = evaluator.match(evaluator.facts_of(event, prefix="e"))
    oracle = Oracle(evaluator.pack, evaluator.exemptions).matches(event, prefix="e")
    pick = lambda found: {lvl for (_k, r), lvl in found.items() if r == rule_id}  # noqa: E731
    return pick(durable), pick(oracle)


def _needs_information(evaluator: Evaluator, event: Event, rule_id: str) -> list[str]:
    (v,) = [v for v in evaluator.evaluate(event).violations if v.rule_id == rule_id]
    assert v.needs_information and v.confidence == "low"
    return v.unknown


@pytest.fixture(scope="module")
def full(repo_pack: RulePack) -> Evaluator:
    from rulepack_support import make_evaluator

    return make_evaluator("durable", repo_pack)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def named_party_pack(repo_pack: RulePack) -> Evaluator:
    """The Sierra Leone embargo with its end-user leaf turned into a positive condition (every
    party_named leaf of the pack sits under ``unless``): fires only for the named end users."""
    path = next(p for p in repo_pack.files if p.endswith("UNSCR-1171-OP2.yaml"))
    doc = yaml.safe_load(repo_pack.files[path])
    named = next(n for n in doc["when"]["unless"] if "party_named" in n)
    doc["when"]["unless"].remove(named)
    doc["when"]["all"].append(named)
    doc["id"] = "TEST-NAMED-END-USER"
    return Evaluator(pack_from_files({"sierra-leone/TEST-NAMED-END-USER.yaml": yaml.dump(doc)}))


def test_listed_is_undecided_when_a_party_has_no_name(full: Evaluator) -> None:
    rule = "UNSCR-2653-OP11"  # targeted arms embargo: a party on the Haiti list
    to_do = {"origin": {"country": "US"}, "destination": {"country": "DO"}}
    named = _event({**to_do, "parties": [{"role": "consignee", "name": "Acme Trading"}]})
    assert _levels(full, named, rule) == (set(), set())  # screened, not listed: clear
    unnamed = _event({**to_do, "parties": [{"role": "consignee"}]})
    assert _levels(full, unnamed, rule) == ({"unknown"}, {"unknown"})
    assert _needs_information(full, unnamed, rule) == ["/shipment/parties/0/name"]


def test_area_is_undecided_when_a_place_country_is_unknown(full: Evaluator) -> None:
    rule = "UNSCR-1591-OP7"  # Darfur: a place in Sudan named in the area
    khartoum = {"origin": {"country": "AE"}, "destination": {"country": "SD", "name": "Khartoum"}}
    known = _event({**khartoum, "route": [{"country": "TD", "name": "Abeche"}]})
    assert _levels(full, known, rule) == (set(), set())  # Khartoum is not in Darfur
    route = [{"country": "?? see remarks", "name": "Abeche"}]
    unknown = _event({**khartoum, "route": route})
    assert _levels(full, unknown, rule) == ({"unknown"}, {"unknown"})
    assert _needs_information(full, unknown, rule) == ["/shipment/route/0/country"]


def test_party_named_is_undecided_when_a_name_is_unknown(named_party_pack: Evaluator) -> None:
    rule = "TEST-NAMED-END-USER"
    to_sl = {"origin": {"country": "GN"}, "destination": {"country": "SL"}}
    at = "2005-06-01T00:00:00Z"  # in force 1998-2010
    end_user = [{"role": "end_user", "name": "Sierra Leone Police"}]
    assert _levels(named_party_pack, _event({**to_sl, "parties": end_user}, at), rule) == (
        {"high"},
        {"high"},
    )
    other = [{"role": "end_user", "name": "Acme Trading"}]
    assert _levels(named_party_pack, _event({**to_sl, "parties": other}, at), rule) == (
        set(),
        set(),
    )
    unnamed = _event({**to_sl, "parties": [{"role": "end_user"}]}, at)
    assert _levels(named_party_pack, unnamed, rule) == ({"unknown"}, {"unknown"})
    assert _needs_information(named_party_pack, unnamed, rule) == ["/shipment/parties/0/name"]

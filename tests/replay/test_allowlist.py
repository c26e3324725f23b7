"""Known false positives: a senior officer records "party X is not list entry Y", a second one
approves it; later hits on it are decided clear with a note; the decision records the allowlist
version and its replay reads that version after a revocation; an amendment of Y re-opens it.

Real database, real list importer and screener, real evaluator.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import screening_support
from screening_support import decide_with as decide
from screening_support import import_xml

from engine.allowlist import store
from engine.allowlist.matching import Snapshot, StoredAllowlist
from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack

ACME = "ACME OCEAN TRADING CORPORATION"


def list_xml(generated: str, name: str, comment: str = "") -> bytes:
    return screening_support.list_xml(generated, [(900002, "KPe.902", name, "2016-03-02", comment)])


def shipment(event_id: str, country: str = "AE") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": "2024-06-03T09:00:00Z",
        "source": "tms-7",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "SG"},
            "destination": {"country": "AE"},
            "goods": [
                {"hs_code": "847130", "description": "laptops", "quantity": 10, "unit": "pcs"}
            ],
            "parties": [
                {"role": "consignee", "name": "Acme Ocean Trading Corp.", "country": country}
            ],
        },
    }


def decision(event_id: str) -> dict[str, Any]:
    from engine.storage.repository import event_with_decision

    found = event_with_decision(event_id)
    assert found is not None
    return found["decision"]


@pytest.fixture
def seniors(db: None) -> None:
    from web.auth.accounts import create_user

    for name in ("sam", "sue"):
        create_user(name, "long enough password", "senior_officer", actor="pytest")
    create_user("olga", "long enough password", "officer", actor="pytest")


def test_allowlisted_party_is_clear_with_a_note_and_replay_pins_the_version(
    seniors: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.replay import replay
    from engine.screening import default_screener

    import_xml(tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", ACME))
    evaluator = Evaluator(load_pack(), screener=default_screener, allowlist=StoredAllowlist())
    with pytest.raises(store.AllowlistError, match="senior officer"):
        store.add(
            list_reference="KPe.902",
            party_name=ACME,
            country="AE",
            reason="x",
            expires_on=date(2099, 1, 1),
            actor="olga",
        )
    entry = store.add(
        list_reference="KPe.902",
        party_name="Acme Ocean Trading Corp",
        country="ae",
        reason="Our customer since 2009, LEI checked; not the DPRK front company",
        expires_on=date(2099, 1, 1),
        actor="sam",
        scope_source="tms-7",
    )
    decide(shipment("al-1"), evaluator)  # pending: clears nothing
    assert decision("al-1")["status"] == "flagged"
    with pytest.raises(store.AllowlistError, match="cannot approve"):
        store.approve(entry.id, "sam")
    store.approve(entry.id, "sue")

    decide(shipment("al-2"), evaluator)
    cleared = decision("al-2")
    assert cleared["status"] == "clear"
    assert cleared["allowlist_version"] == store.current_version()
    (note,) = cleared["allowlist_notes"]
    assert f"allowlist entry #{entry.id}" in note and "KPe.902" in note and "since 2009" in note
    decide(shipment("al-3", country="KP"), evaluator)  # another country: not this party
    assert decision("al-3")["status"] == "flagged"

    store.revoke(entry.id, "sue", "customer relationship ended")
    result = replay("al-2", screener=default_screener())
    assert result.identical, result.diff
    assert result.replayed.status == "clear"
    decide(shipment("al-4"), evaluator)
    assert decision("al-4")["status"] == "flagged"


def test_an_amendment_of_the_list_entry_reopens_the_allowlist_entry(
    seniors: None, fresh_screening: None, tmp_path: Path
) -> None:
    import_xml(tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", ACME))
    entry = store.add(
        list_reference="KPe.902",
        party_name="ACME Ocean Trading Corp.",
        country="AE",
        reason="checked",
        expires_on=date(2099, 1, 1),
        actor="sam",
    )
    store.approve(entry.id, "sue")
    import_xml(tmp_path, "b.xml", list_xml("2024-05-10T00:00:00Z", ACME, "now also known as X"))
    again = store.get(entry.id)
    assert again is not None and again.status == "reopened"
    from engine.screening import default_screener

    evaluator = Evaluator(load_pack(), screener=default_screener, allowlist=StoredAllowlist())
    decide(shipment("am-1"), evaluator)
    assert decision("am-1")["status"] == "flagged"
    with pytest.raises(store.AllowlistError, match="cannot approve"):
        store.approve(entry.id, "sam")  # the recorder still cannot
    store.approve(entry.id, "sue")
    decide(shipment("am-2"), evaluator)
    assert decision("am-2")["status"] == "clear"


def test_expiry_scope_and_identifiers() -> None:
    hit = ScreeningHit(
        path="shipment.parties[0]",
        queried="x",
        list_regime="DPRK",
        reference="KPe.902",
        entry_name=ACME,
        entry_kind="entity",
        matched=ACME,
        method="name_exact",
        score=1.0,
        explanation="",
        list_version="v",
    )
    base = dict(
        id=1,
        list_reference="KPe.902",
        party_name=None,
        name_norm=None,
        country=None,
        scope_counterparty=None,
        scope_source=None,
        reason="r",
        status="approved",
        created_by="a",
        approved_by="b",
    )
    by_lei = store.Entry(
        identifiers={"lei": "5493001KJTIIGC8Y1R12"}, expires_on=date(2099, 1, 1), **base
    )
    raw = shipment("s")
    event = Event.model_validate(raw)
    assert Snapshot(3, [by_lei]).apply(event, [hit]) == ([hit], [])  # no identifiers on the party
    raw["shipment"]["parties"][0]["identifiers"] = {"lei": "5493001KJTIIGC8Y1R12"}
    kept, notes = Snapshot(3, [by_lei]).apply(Event.model_validate(raw), [hit])
    assert kept == [] and len(notes) == 1
    expired = store.Entry(
        identifiers={"lei": "5493001KJTIIGC8Y1R12"}, expires_on=date(2024, 6, 2), **base
    )
    assert Snapshot(3, [expired]).apply(Event.model_validate(raw), [hit])[0] == [hit]
    scoped = store.Entry(
        **{**base, "scope_source": "other-system"},
        identifiers={"lei": "5493001KJTIIGC8Y1R12"},
        expires_on=date(2099, 1, 1),
    )
    assert Snapshot(3, [scoped]).apply(Event.model_validate(raw), [hit])[0] == [hit]

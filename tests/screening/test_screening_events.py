"""Screening whole events: every party role, vessels, counterparts, entities with aliases and
owners; the snapshot in force at occurred_at; designated vessels from their designation date."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lists_support import parsed

from engine.config import PROJECT_ROOT
from engine.models.events import Event
from engine.screening.service import Screener, SnapshotIndex
from engine.screening.vessels import load_register

REGISTER = PROJECT_ROOT / "rules" / "vessels" / "designated-vessels.yaml"
DAYS = ("2017-07-03", "2024-09-26", "2025-04-19", "2026-02-27", "2026-05-08")


@lru_cache(maxsize=1)
def screener() -> Screener:
    snaps = [
        SnapshotIndex.build(parsed(d).sha256, parsed(d).date_generated, parsed(d).entries)
        for d in DAYS
    ]
    return Screener(snaps, load_register(Path(REGISTER)))


def event(kind: str, body: dict[str, Any], at: str = "2026-06-01T10:00:00+00:00") -> Event:
    return Event.model_validate(
        {
            "event_id": f"t-{kind}-{at}",
            "event_type": kind,
            "occurred_at": at,
            "source": "test",
            kind: body,
        }
    )


def shipment(
    parties: list[dict[str, Any]], vessel: dict | None = None, at: str = "2026-06-01T10:00:00+00:00"
) -> Event:
    body = {"origin": {"country": "CN"}, "destination": {"country": "KP"}, "parties": parties}
    if vessel:
        body["vessel"] = vessel
    return event("shipment", body, at)


def test_every_party_role_is_screened() -> None:
    parties = [
        {"role": "consignor", "name": "Harmless Export Co"},
        {"role": "consignee", "name": "Korea Mining Development Trading Corp"},
        {"role": "notify_party", "name": "Nobody In Particular Ltd"},
        {"role": "bank", "name": "Some Bank", "identifiers": {"bic": "FTBDKPPY"}},
        {"role": "freight_forwarder", "name": "Ocean Maritime Management Company Limited"},
        {"role": "insurer", "name": "Plain Insurance AG"},
    ]
    hits = screener().screen(shipment(parties))
    got = {(h.path, h.role, h.reference, h.method) for h in hits}
    assert got == {
        ("shipment.parties[1]", "consignee", "KPe.001", "name_exact"),
        ("shipment.parties[3].identifiers.bic", "bank", "KPe.047", "bic"),
        ("shipment.parties[4]", "freight_forwarder", "KPe.020", "name_exact"),
    }
    assert {h.list_version for h in hits} == {parsed("2026-05-08").sha256}
    assert all(h.list_regime == "DPRK" and not h.retro for h in hits)


def test_designated_vessel_by_imo_counts_from_its_designation_date() -> None:
    vessel = {"name": "SOME OTHER NAME", "imo": "9191773"}  # BILLIONS NO. 18, designated 2017-12-28
    before = screener().screen(shipment([], vessel, "2017-12-01T00:00:00+00:00"))
    after = screener().screen(shipment([], vessel, "2018-01-15T00:00:00+00:00"))
    assert before == []
    assert [(h.reference, h.method, h.entry_kind, h.role) for h in after] == [
        ("1718-VSL-IMO9191773", "imo", "vessel", "vessel")
    ]
    assert after[0].designation_basis and after[0].entry_name == "BILLIONS NO. 18"
    assert after[0].list_version == load_register(Path(REGISTER)).version


def test_vessel_name_match_respects_numbers_and_imo() -> None:
    at = "2019-01-01T00:00:00+00:00"
    by_name = screener().screen(shipment([], {"name": "Hao Fan 6"}, at))
    assert [h.reference for h in by_name] == ["1718-VSL-IMO8628597"]  # HAO FAN 6
    assert screener().screen(shipment([], {"name": "HAO FAN 9"}, at)) == []
    # same name as a designated ship with a known, different IMO: another ship
    assert screener().screen(shipment([], {"name": "RUNG RA 2", "imo": "9191773"}, at)) != []
    assert all(
        h.reference != "1718-VSL-IMO9020534"
        for h in screener().screen(shipment([], {"name": "RUNG RA 2", "imo": "9074729"}, at))
    )


def test_movement_screens_vessel_and_counterpart() -> None:
    body = {
        "kind": "ship_to_ship",
        "vessel": {"name": "Innocent Carrier", "imo": "9074729"},
        "counterpart_vessel": {"name": "UL JI BONG 6", "imo": "9114555"},
        "position": {"lat": 38.5, "lon": 124.0},
    }
    hits = screener().screen(event("vessel_movement", body, "2019-03-01T00:00:00+00:00"))
    assert [(h.path, h.role, h.reference) for h in hits] == [
        ("vessel_movement.counterpart_vessel", "counterpart_vessel", "1718-VSL-IMO9114555")
    ]


def test_entity_event_name_aliases_owners_identifiers() -> None:
    body = {
        "action": "onboard",
        "id": "C-1",
        "kind": "organization",
        "name": "Harmless Holdings",
        "aliases": ["Green Pine Associated Corporation"],
        "owners": [{"name": "Ри Вон Хо", "kind": "person"}, {"name": "Jane Doe"}],
        "identifiers": {"imo_company": "5342883"},
    }
    hits = screener().screen(event("entity", body))
    got = {(h.path, h.role, h.reference, h.method) for h in hits}
    assert got == {
        ("entity.aliases[0]", "entity", "KPe.010", "name_exact"),
        ("entity.identifiers.imo_company", "entity", "KPe.022", "imo"),
        ("entity.owners[0]", "owner", "KPi.033", "name_exact"),
    }


def test_vessel_entity_is_screened_against_the_register() -> None:
    body = {"action": "onboard", "id": "V-1", "kind": "vessel", "name": "Petrel 8"}
    hits = screener().screen(event("entity", body, "2018-02-01T00:00:00+00:00"))
    assert [(h.reference, h.role) for h in hits] == [("1718-VSL-IMO9562233", "entity")]  # PETREL 8


def test_snapshot_in_force_at_occurred_at() -> None:
    s = screener()
    assert s.version_at(datetime(2026, 3, 1, tzinfo=UTC)) == parsed("2026-02-27").sha256
    assert (
        s.version_at(datetime(2026, 5, 8, 23, 0, 6, 922000, tzinfo=UTC))
        == parsed("2026-05-08").sha256
    )
    assert s.version_at(datetime(2026, 5, 8, 23, 0, 6, tzinfo=UTC)) == parsed("2026-02-27").sha256
    # older than every snapshot: the oldest one (documented choice)
    assert s.version_at(datetime(2001, 1, 1, tzinfo=UTC)) == parsed("2017-07-03").sha256
    assert Screener([]).version_at(datetime(2020, 1, 1, tzinfo=UTC)) is None


def test_iran_entries_only_while_the_iran_list_is_in_force() -> None:
    iran = next(
        e for e in parsed("2026-02-27").entries if e.regime == "Iran" and e.kind == "entity"
    )
    party = [{"role": "consignee", "name": iran.name}]
    during_gap = screener().screen(shipment(party, at="2025-06-01T00:00:00+00:00"))
    after_snapback = screener().screen(shipment(party, at="2026-03-01T00:00:00+00:00"))
    assert iran.reference not in {h.reference for h in during_gap}
    assert iran.reference in {h.reference for h in after_snapback}
    assert {h.list_regime for h in after_snapback if h.reference == iran.reference} == {"Iran"}


def test_delisted_entry_is_not_screened_after_its_removal() -> None:
    gone = next(e for e in parsed("2026-02-27").entries if e.reference == "QDe.137")
    party = [{"role": "consignor", "name": gone.name}]
    assert "QDe.137" in {
        h.reference for h in screener().screen(shipment(party, at="2026-04-01T00:00:00+00:00"))
    }
    assert "QDe.137" not in {
        h.reference for h in screener().screen(shipment(party, at="2026-06-01T00:00:00+00:00"))
    }

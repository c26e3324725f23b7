"""A period replay of a few hundred events of every kind decided live (caps totals, vessel
history, the allowlist, list snapshots, changes between batches) is identical: zero defects.
bench/replay.py runs the same pipeline over 20,000 events and prints the rate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from replay_support import ACME, acme_shipment, generated_events, ingest_and_decide, un_list_xml
from sqlalchemy import bindparam, text

from engine.replay_period import default_replayer_parts, replay_period
from engine.rules.loader import load_pack
from engine.storage.db import get_engine


def _petroleum(event_id: str, day: int, bbl: int) -> dict[str, Any]:
    return {
        "event_id": event_id, "event_type": "shipment", "source": "t",
        "occurred_at": f"2024-03-{day:02d}T09:00:00Z",
        "shipment": {"mode": "sea", "origin": {"country": "RU"}, "destination": {"country": "KP"},
                     "goods": [{"hs_code": "271019", "description": "gasoil", "quantity": bbl,
                                "unit": "bbl"}]},
    }  # fmt: skip


def _voyage(event_id: str, imo: str, when: str) -> dict[str, Any]:
    return {
        "event_id": event_id, "event_type": "shipment", "occurred_at": when, "source": "t",
        "shipment": {"mode": "sea", "vessel": {"name": "ANGARA", "imo": imo, "flag": "RU"},
                     "origin": {"country": "KP", "name": "Najin"},
                     "destination": {"country": "RU", "name": "Dunay"},
                     "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]},
    }  # fmt: skip


def _port_call(event_id: str, imo: str, when: str) -> dict[str, Any]:
    return {
        "event_id": event_id, "event_type": "vessel_movement", "occurred_at": when, "source": "t",
        "vessel_movement": {"kind": "port_call",
                            "vessel": {"name": "NEW NAME", "imo": imo, "flag": "SL"},
                            "port": {"country": "CN", "name": "Zhoushan"}},
    }  # fmt: skip


def test_events_of_every_kind_replay_with_zero_defects(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.allowlist import store
    from engine.lists.importer import import_list
    from web.auth.accounts import create_user

    for name in ("sam", "sue"):
        create_user(name, "long enough password", "senior_officer", actor="pytest")
    xml = tmp_path / "list.xml"
    xml.write_bytes(un_list_xml("2024-01-10T00:00:00Z", [(ACME, "KPe.902", "2016-03-02")]))
    import_list(str(xml), retro=False)
    imos = ["9123453", "9135793", "9176187"]  # valid IMO check digits

    ingest_and_decide(generated_events(200, seed=7), batch=50)  # caps: petroleum to KP
    # refined petroleum near the 2397 OP5 cap: the second crosses it; k-oil-0 occurs before both but
    # is received after their decisions, so their replayed totals must leave it out (cut-off)
    ingest_and_decide([_petroleum("k-oil-1", 10, 240_000), _petroleum("k-oil-2", 12, 300_000)])
    ingest_and_decide([_voyage(f"k-voy-{i}", imo, "2024-02-07T06:00:00Z") for i, imo in
                       enumerate(imos)] + [acme_shipment("k-acme-1", 3)])  # fmt: skip
    entry = store.add(
        list_reference="KPe.902", party_name="Acme Ocean Trading Corp", country="ae",
        reason="customer since 2009, LEI checked", expires_on=date(2099, 1, 1), actor="sam",
    )  # fmt: skip
    store.approve(entry.id, "sue")
    ingest_and_decide(generated_events(150, seed=8), batch=50)  # later cut-offs: more supplies
    ingest_and_decide([_port_call(f"k-call-{i}", imo, "2024-08-01T08:00:00Z") for i, imo in
                       enumerate(imos)] + [acme_shipment("k-acme-2", 4)])  # fmt: skip
    store.revoke(entry.id, "sue", "relationship ended")
    ingest_and_decide([acme_shipment("k-acme-3", 5), _petroleum("k-oil-0", 2, 100_000)])
    ingest_and_decide(generated_events(50, seed=9))

    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT event_id, status, allowlist_version FROM decisions"))
        decided = {r[0]: (r[1], r[2]) for r in rows}
        rules = {
            r[0]
            for r in conn.execute(text("SELECT rule_id FROM alerts WHERE event_id LIKE 'k-call-%'"))
        }
        fired = {r[0] for r in conn.execute(text("SELECT DISTINCT rule_id FROM alerts"))}
    # the kinds really are there: allowlisted, history-based, cap decisions
    assert decided["k-acme-2"] == ("clear", 2) and decided["k-acme-1"][0] == "flagged"
    assert decided["k-acme-3"][0] == "flagged"
    assert "UNSCR-2397-OP9-PORT" in rules
    caps = {r.id for r in load_pack().rules if r.cap is not None}
    assert fired & caps
    with get_engine().connect() as conn:
        capped = {
            r[0]
            for r in conn.execute(
                text("SELECT event_id FROM alerts WHERE rule_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": sorted(caps)},
            )
        }
    assert "k-oil-2" in capped and "k-oil-1" not in capped

    screener, caps_for = default_replayer_parts()
    report = replay_period(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC),
        screener=screener, caps_for=caps_for,
    )  # fmt: skip
    assert report.errors == [] and report.defects == []
    assert report.replayed == report.identical == len(decided) == 200 + 150 + 50 + 12

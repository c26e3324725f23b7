"""Retro-screening reacts to what an import changes in the designation history: a newly learned
earlier listing date opens alerts for the days it newly covers, and a delisting marks (never
closes) the open alerts of that entry. Real database, real importer, list files in the official
layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from screening_support import store_decided
from sqlalchemy import select, update

from engine.lists.importer import import_list
from engine.storage.db import get_engine
from engine.storage.desk_tables import AlertNoteRow, AuditRow
from engine.storage.repository import ALERTS

ACME = "ACME OCEAN TRADING CORPORATION"


def list_xml(generated: str, entities: list[tuple[str, str, str]]) -> bytes:
    """A consolidated list with DPRK entities (reference, name, LISTED_ON)."""
    rows = "".join(
        f"<ENTITY><DATAID>{900000 + i}</DATAID><VERSIONNUM>1</VERSIONNUM>"
        f"<FIRST_NAME>{name}</FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE>"
        f"<REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER><LISTED_ON>{listed}</LISTED_ON>"
        f"<COMMENTS1></COMMENTS1><LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE></ENTITY>"
        for i, (ref, name, listed) in enumerate(entities)
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST dateGenerated='{generated}'>"
        f"<INDIVIDUALS></INDIVIDUALS><ENTITIES>{rows}</ENTITIES></CONSOLIDATED_LIST>"
    ).encode()


def imported(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return import_list(str(path))


def store_shipment(event_id: str, at: str, consignee: str = ACME) -> None:
    raw = {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": at,
        "source": "test",
        "shipment": {
            "origin": {"country": "SG"},
            "destination": {"country": "AE"},
            "parties": [{"role": "consignee", "name": consignee}],
        },
    }
    store_decided(raw)


def alerts() -> dict[str, dict[str, Any]]:
    with get_engine().connect() as conn:
        return {r["event_id"]: dict(r) for r in conn.execute(select(ALERTS)).mappings()}


@pytest.fixture
def long_window(monkeypatch: pytest.MonkeyPatch):
    """Re-screen events of any age (the fixed dates below are years before today)."""
    from engine.screening.settings import get_screening_settings

    monkeypatch.setenv("SANCTIONS_RETRO_SCREEN_MONTHS", "600")
    get_screening_settings.cache_clear()
    yield
    get_screening_settings.cache_clear()


OTHER = ("KPe.900", "OTHER HOLDINGS", "2016-03-02")


def test_a_newly_learned_earlier_listing_date_opens_alerts_for_the_days_it_covers(
    db: None, long_window: None, tmp_path: Path
) -> None:
    store_shipment("early", "2024-09-01T10:00:00Z")  # before the first stated listing date
    store_shipment("later", "2024-10-05T10:00:00Z")
    store_shipment("before-all", "2024-07-01T10:00:00Z")  # before the corrected date too

    imported(tmp_path, "0.xml", list_xml("2024-06-01T00:00:00Z", [OTHER]))
    first = imported(
        tmp_path,
        "a.xml",
        list_xml("2024-10-15T00:00:00Z", [OTHER, ("KPe.901", ACME, "2024-10-01")]),
    )
    assert first.retro_alerts == 1 and set(alerts()) == {"later"}

    corrected = imported(
        tmp_path,
        "b.xml",
        list_xml("2024-11-15T00:00:00Z", [OTHER, ("KPe.901", ACME, "2024-08-01")]),
    )
    assert corrected.retro_alerts == 1
    found = alerts()
    assert set(found) == {"later", "early"}
    reason = found["early"]["violation"]["reason"]
    assert "KPe.901" in reason and "listed on 2024-08-01 (previously 2024-10-01)" in reason
    assert found["early"]["origin"] == "retro_screening" and found["early"]["status"] == "open"
    # the same file again changes nothing
    assert not imported(tmp_path, "b2.xml", (tmp_path / "b.xml").read_bytes()).created
    assert set(alerts()) == {"later", "early"}


def test_an_older_snapshot_imported_late_rescreens_only_what_it_reveals(
    db: None, long_window: None, tmp_path: Path
) -> None:
    # KPe.902 appears with a listing date AFTER an older snapshot that lacked it, then a still
    # older file arrives: it tells nothing new about 2024, so nothing opens
    store_shipment("s1", "2024-03-01T10:00:00Z")
    imported(tmp_path, "0.xml", list_xml("2024-01-01T00:00:00Z", [OTHER]))
    imported(
        tmp_path,
        "a.xml",
        list_xml("2024-06-01T00:00:00Z", [OTHER, ("KPe.902", ACME, "2024-02-01")]),
    )
    assert set(alerts()) == {"s1"}
    late = imported(tmp_path, "old.xml", list_xml("2023-01-01T00:00:00Z", [OTHER]))
    assert late.created and late.retro_alerts == 0


def test_a_delisting_marks_open_alerts_and_closes_nothing(
    db: None, long_window: None, tmp_path: Path
) -> None:
    store_shipment("open-1", "2024-09-01T10:00:00Z")
    store_shipment("closed-1", "2024-09-02T10:00:00Z", consignee="ACME OCEAN TRADING CORP")
    imported(tmp_path, "0.xml", list_xml("2024-06-01T00:00:00Z", [OTHER]))
    imported(
        tmp_path,
        "a.xml",
        list_xml("2024-07-15T00:00:00Z", [OTHER, ("KPe.901", ACME, "2024-07-01")]),
    )
    found = alerts()
    assert set(found) == {"open-1", "closed-1"}
    with get_engine().begin() as conn:
        conn.execute(update(ALERTS).where(ALERTS.c.event_id == "closed-1").values(status="closed"))

    gone = imported(tmp_path, "b.xml", list_xml("2024-12-01T00:00:00Z", [OTHER]))
    assert gone.delisting_marks == 1
    now = alerts()
    assert now["open-1"]["status"] == "open" and now["closed-1"]["status"] == "closed"
    with get_engine().connect() as conn:
        notes = conn.execute(select(AlertNoteRow.__table__)).mappings().all()
        audit = (
            conn.execute(
                select(AuditRow.__table__).where(AuditRow.__table__.c.action == "delisting_noted")
            )
            .mappings()
            .all()
        )
    assert [n["alert_id"] for n in notes] == [now["open-1"]["id"]]
    assert "KPe.901" in notes[0]["body"] and "2024-07-15" in notes[0]["body"]
    assert "2024-12-01" in notes[0]["body"] and "stays open" in notes[0]["body"]
    assert [a["alert_id"] for a in audit] == [now["open-1"]["id"]]

    # a later import that still lacks it marks nothing again
    again = imported(tmp_path, "c.xml", list_xml("2025-01-01T00:00:00Z", [OTHER]))
    assert again.delisting_marks == 0

"""Retro-screening applies the allowlist in force, as the live path does: an allowlisted party
re-screened after a list update opens no alert, and the set-aside is recorded with its note and
the allowlist version; another party on the same entry still alerts; once the list entry is
amended the allowlist entry re-opens and the re-screening alerts.

Real list importer, screener, allowlist store and database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from screening_support import store_decided
from sqlalchemy import select

from engine.allowlist import store as allowlist
from engine.lists.importer import import_list
from engine.screening.retro import months_before
from engine.storage.db import get_engine, session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.repository import ALERTS

BRAVO = "BRAVO STRAITS SHIPPING LINE"


def _entity(dataid: int, ref: str, name: str, listed_on: str, comment: str = "") -> str:
    return (
        f"<ENTITY><DATAID>{dataid}</DATAID><VERSIONNUM>1</VERSIONNUM><FIRST_NAME>{name}"
        f"</FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE><REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER>"
        f"<LISTED_ON>{listed_on}</LISTED_ON><COMMENTS1>{comment}</COMMENTS1>"
        f"<LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE></ENTITY>"
    )


def _import(tmp_path: Path, generated: datetime, *entities: str) -> Any:
    xml = (
        f"<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST dateGenerated="
        f"'{generated:%Y-%m-%dT%H:%M:%SZ}'><INDIVIDUALS></INDIVIDUALS><ENTITIES>"
        + "".join(entities)
        + "</ENTITIES></CONSOLIDATED_LIST>"
    )
    path = tmp_path / f"list-{generated:%Y%m%d}.xml"
    path.write_text(xml)
    return import_list(str(path))


def _store(event_id: str, at: datetime, country: str) -> None:
    raw = {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "tms-7",
        "shipment": {
            "origin": {"country": "SG"},
            "destination": {"country": "AE"},
            "parties": [
                {"role": "consignee", "name": "Bravo Straits Shipping Line", "country": country}
            ],
        },
    }
    store_decided(raw)


def _alerted() -> list[str]:
    with get_engine().connect() as conn:
        return sorted(conn.scalars(select(ALERTS.c.event_id)))


def _set_aside() -> list[AuditRow]:
    with session_scope() as s:
        rows = list(
            s.scalars(
                select(AuditRow).where(AuditRow.action == "retro_allowlisted").order_by(AuditRow.id)
            )
        )
        s.expunge_all()
        return rows


@pytest.fixture
def seniors(db: None) -> None:
    from web.auth.accounts import create_user

    for name in ("sam", "sue"):
        create_user(name, "long enough password", "senior_officer", actor="pytest")


def test_retro_screening_applies_the_allowlist_until_the_entry_is_amended(
    seniors: None, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    acme = _entity(900002, "KPe.902", "ACME OCEAN TRADING CORPORATION", "2016-03-02")
    _import(tmp_path, months_before(now, 8), acme)
    entry = allowlist.add(
        list_reference="KPe.903",
        party_name="Bravo Straits Shipping Line",
        country="AE",
        reason="Our Emirati carrier since 2011; not the DPRK-linked line",
        expires_on=date(2099, 1, 1),
        actor="sam",
    )
    allowlist.approve(entry.id, "sue")
    version = allowlist.current_version()

    _store("ra-ae", months_before(now, 2), "AE")  # the allowlisted party
    _store("ra-kp", months_before(now, 2), "KP")  # same name, another country: not that party
    _store("ra-early", months_before(now, 4), "AE")  # before the listing as first published

    listed = months_before(now, 3).date().isoformat()
    second = _import(
        tmp_path, months_before(now, 1), acme, _entity(900003, "KPe.903", BRAVO, listed)
    )
    assert second.created and second.retro_alerts == 1 and second.retro_allowlisted == 1
    assert _alerted() == ["ra-kp"]
    (row,) = _set_aside()
    assert (row.target_type, row.target_id, row.actor) == ("event", "ra-ae", "system:list-import")
    assert row.after == {"allowlist_version": version, "list_snapshot": second.snapshot.sha256}
    assert f"allowlist entry #{entry.id} (version {version}," in row.note
    assert "KPe.903" in row.note and "since 2011" in row.note

    # The entry is amended: listed earlier than first published. The import re-opens the
    # allowlist entry before re-screening, so the newly covered earlier event alerts.
    earlier = months_before(now, 5).date().isoformat()
    third = _import(
        tmp_path, now, acme, _entity(900003, "KPe.903", BRAVO, earlier, "listing date corrected")
    )
    reopened = allowlist.get(entry.id)
    assert reopened is not None and reopened.status == "reopened"
    assert third.retro_allowlisted == 0 and third.retro_alerts == 1
    assert _alerted() == ["ra-early", "ra-kp"]
    assert len(_set_aside()) == 1

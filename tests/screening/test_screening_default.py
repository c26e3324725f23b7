"""default_screener(): built from the stored snapshots, cached, rebuilt after an import."""

from __future__ import annotations

from datetime import UTC, datetime

from lists_support import list_file, parsed

from engine.lists.history import reconstruction_version
from engine.lists.importer import import_list
from engine.models.events import Event
from engine.screening.service import default_screener, invalidate_default_screener


def _event(at: str, name: str) -> Event:
    return Event.model_validate(
        {
            "event_id": "d-1",
            "event_type": "shipment",
            "occurred_at": at,
            "source": "t",
            "shipment": {
                "origin": {"country": "CN"},
                "destination": {"country": "KP"},
                "parties": [{"role": "consignee", "name": name}],
                "vessel": {"name": "X", "imo": "9114555"},
            },
        }
    )


def test_default_screener_follows_imports(db: None) -> None:
    invalidate_default_screener()
    empty = default_screener()
    assert empty.version_at(datetime(2026, 1, 1, tzinfo=UTC)) is None
    # no list yet: the vessel register still screens (UL JI BONG 6 by IMO)
    assert [h.reference for h in empty.screen(_event("2026-06-01T00:00:00Z", "KOMID"))] == [
        "1718-VSL-IMO9114555"
    ]
    assert default_screener() is empty  # cached

    import_list(str(list_file("2025-04-19")))
    after = default_screener()
    assert after is not empty
    first = reconstruction_version([parsed("2025-04-19").sha256])
    assert after.version_at(datetime(2026, 1, 1, tzinfo=UTC)) == first
    hits = after.screen(_event("2026-06-01T00:00:00Z", "KOMID"))
    assert {h.reference for h in hits} == {"KPe.001", "1718-VSL-IMO9114555"}

    import_list(str(list_file("2026-05-08")))
    newest = default_screener()
    both = reconstruction_version([parsed("2025-04-19").sha256, parsed("2026-05-08").sha256])
    # one reconstruction over both snapshots, whatever the event's day
    assert newest.version_at(datetime(2026, 6, 1, tzinfo=UTC)) == both
    assert newest.version_at(datetime(2001, 1, 1, tzinfo=UTC)) == both
    assert "KPe.001" in {
        h.reference for h in newest.screen(_event("2026-06-01T00:00:00Z", "KOMID"))
    }
    # the reconstruction a decision cited before the second import is rebuilt on demand
    assert newest.pinned(first).version_at(datetime(2026, 6, 1, tzinfo=UTC)) == first
    invalidate_default_screener()

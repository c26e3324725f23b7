"""Screening-based decisions replay against the lists of their day.

- A replay screens against the designation reconstruction its decision cited
  (``Decision.list_version``: the snapshots stored then), even when a snapshot imported later
  changes who was listed on the event's date.
- The designated-vessel register is part of the rule pack: a decision made before a vessel was
  added to the register replays as it was; the new pack shows the change as impact.
- A long-lived evaluator (a worker) uses a newly imported snapshot without a restart.

Real database, real importer (small XML files in the official format), real evaluator.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import screening_support
from screening_support import decide_with as decide

from engine.config import PROJECT_ROOT
from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack

ACME = "ACME OCEAN TRADING CORPORATION"
OCCURRED = "2024-06-03T09:00:00Z"


def list_xml(generated: str, entities: list[tuple[int, str, str]]) -> bytes:
    """A consolidated list in the official layout with DPRK entities (dataid, reference, name)."""
    return screening_support.list_xml(generated, [(*e, "2016-03-02", "") for e in entities])


def import_xml(tmp_path: Path, name: str, data: bytes) -> str:
    return screening_support.import_xml(tmp_path, name, data).snapshot.sha256


def rec(*shas: str) -> str:
    """The list version a decision cites: the reconstruction over the snapshots stored then."""
    from engine.lists.history import reconstruction_version

    return reconstruction_version(list(shas))


def shipment(
    event_id: str, consignee: str = ACME, vessel: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "mode": "sea",
        "origin": {"country": "SG"},
        "destination": {"country": "AE"},
        "goods": [{"hs_code": "847130", "description": "laptops", "quantity": 10, "unit": "pcs"}],
        "parties": [{"role": "consignee", "name": consignee}],
    }
    if vessel:
        body["vessel"] = vessel
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": OCCURRED,
        "source": "test",
        "shipment": body,
    }


def test_live_evaluator_uses_a_snapshot_imported_after_it_was_built(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.screening import default_screener

    evaluator = Evaluator(load_pack(), screener=default_screener)
    first = import_xml(
        tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", [(900001, "KPe.901", "OTHER HOLDINGS")])
    )
    before = evaluator.evaluate(Event.model_validate(shipment("live-1")))
    assert before.status == "clear" and before.list_version == rec(first)

    second = import_xml(
        tmp_path,
        "b.xml",
        list_xml(
            "2024-05-20T00:00:00Z",
            [(900001, "KPe.901", "OTHER HOLDINGS"), (900002, "KPe.902", ACME)],
        ),
    )
    after = evaluator.evaluate(Event.model_validate(shipment("live-2")))
    assert after.list_version == rec(first, second)
    assert [v.rule_id for v in after.violations] == ["UNSCR-1718-OP8d"]
    assert "KPe.902" in after.violations[0].reason


def test_replay_uses_the_decisions_snapshot_not_a_later_backdated_one(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.replay import replay
    from engine.screening import default_screener

    evaluator = Evaluator(load_pack(), screener=default_screener)
    first = import_xml(
        tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", [(900001, "KPe.901", "OTHER HOLDINGS")])
    )
    decide(shipment("pin-1"), evaluator)

    # A snapshot generated before the event but imported after the decision: "in force" for the
    # event's date today, and it lists the consignee.
    later = import_xml(
        tmp_path, "b.xml", list_xml("2024-05-20T00:00:00Z", [(900002, "KPe.902", ACME)])
    )
    at = Event.model_validate(shipment("x")).occurred_at
    assert default_screener().version_at(at) == rec(first, later)
    fresh = evaluator.evaluate(Event.model_validate(shipment("pin-1")))
    assert fresh.status == "flagged"  # what an unpinned replay would have produced

    result = replay("pin-1", screener=default_screener())
    assert result.original.status == "clear", result.original.violations
    assert result.original.list_version == rec(first)
    assert result.identical, result.diff
    assert result.replayed.list_version == rec(first)


def test_replay_of_a_hit_keeps_the_hit_after_a_delisting(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.replay import replay
    from engine.screening import default_screener

    evaluator = Evaluator(load_pack(), screener=default_screener)
    listed = import_xml(
        tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", [(900002, "KPe.902", ACME)])
    )
    decide(shipment("pin-2"), evaluator)
    import_xml(
        tmp_path, "b.xml", list_xml("2024-05-20T00:00:00Z", [(900001, "KPe.901", "OTHER HOLDINGS")])
    )
    result = replay("pin-2", screener=default_screener())
    assert result.original.status == "flagged" and result.original.list_version == rec(listed)
    assert result.identical, result.diff


def test_replay_refuses_a_snapshot_that_is_not_stored(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.screening import default_screener

    import_xml(
        tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", [(900001, "KPe.901", "OTHER HOLDINGS")])
    )
    with pytest.raises(LookupError, match="not stored"):
        default_screener().pinned("0" * 64)


def test_vessel_register_change_is_a_new_pack_and_old_decisions_replay_as_they_were(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    from engine.replay import impact, load_stored_pack, replay
    from engine.screening import default_screener

    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    register = rules / "vessels" / "designated-vessels.yaml"
    vessel = {"name": "SEA BREEZE NINE", "imo": "9321483", "flag": "PA"}  # valid check digit

    old_pack = load_pack(rules)
    import_xml(
        tmp_path, "a.xml", list_xml("2024-01-10T00:00:00Z", [(900001, "KPe.901", "OTHER HOLDINGS")])
    )
    evaluator = Evaluator(old_pack, screener=default_screener)
    decide(shipment("reg-1", consignee="HARMLESS LOGISTICS PTE LTD", vessel=vessel), evaluator)

    # The register gains the vessel (designated before the event): a new pack version.
    register.write_text(
        register.read_text(encoding="utf-8")
        + (
            "  - name: SEA BREEZE NINE\n    imo: '9321483'\n    flag: PA\n    designated_on: 2024-03-01\n"
            "    legal_basis: [UNSCR 2321 (2016) OP12]\n    effect: asset freeze and port-entry ban\n"
            "    source: test fixture\n"
        ),
        encoding="utf-8",
    )
    new_pack = load_pack(rules)
    assert new_pack.version != old_pack.version
    assert any(v.imo == "9321483" for v in new_pack.vessels.vessels)

    # The same event under the new pack is flagged (the vessel is now designated) ...
    event = Event.model_validate(
        shipment("reg-1", consignee="HARMLESS LOGISTICS PTE LTD", vessel=vessel)
    )
    now = Evaluator(new_pack, screener=default_screener).evaluate(event)
    assert now.status == "flagged", now
    assert all("SEA BREEZE NINE" in v.reason for v in now.violations), [
        v.reason for v in now.violations
    ]

    # ... while the old decision replays identically against its own stored pack and register.
    stored = load_stored_pack(old_pack.version)
    assert stored.vessels is not None and not any(
        v.imo == "9321483" for v in stored.vessels.vessels
    )
    result = replay("reg-1", screener=default_screener())
    assert result.original.status == "clear"
    assert result.identical, result.diff

    # And the impact report of the register change names the event.
    report = impact(old_pack, new_pack, [event], screener=default_screener())
    assert [item.event_id for item in report.changed] == ["reg-1"]
    assert report.changed[0].added

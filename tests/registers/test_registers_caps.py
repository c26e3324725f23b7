"""Notified quantities count against the caps (issue 12): approved notifications of refined
petroleum under 2397 OP5, recorded through the API, add to the running total against the 500,000
bbl cap; the decision shows that total, and a replay reads the register version it recorded."""

from __future__ import annotations

from typing import Any

import pytest
from registers_support import Desk

CAP_RULE, NOTIFY_RULE = "UNSCR-2397-OP5", "UNSCR-2397-OP5-NOTIFY"


def notification(ref: str, bbl: float, valid_from: str, valid_to: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "kind": "notification",
        "regime": "DPRK",
        "basis": {"resolution": "2397 (2017)", "paragraph": "5"},
        "holder": {"name": "Notifying State", "country": "CN"},
        "goods": [{"hs": ["2710"], "description": "diesel", "quantity": bbl, "unit": "bbl"}],
        "destination": "KP",
        "valid_from": valid_from,
        "valid_to": valid_to,
        "covers": [NOTIFY_RULE],
    }


def diesel(event_id: str, when: str, bbl: float, ref: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": when,
        "source": "pytest",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "CN", "name": "Dalian"},
            "destination": {"country": "KP", "name": "Nampo"},
            "parties": [{"role": "consignor", "name": "Dalian Fuel Co", "country": "CN"}],
            "goods": [
                {"hs_code": "271019", "description": "diesel", "quantity": bbl, "unit": "bbl"}
            ],
            "notification_ref": ref,
        },
    }


@pytest.fixture
def desk(db, broker_url):
    from web import create_app

    app = create_app({"TESTING": True, "SANCTIONS_BROKER_URL": broker_url})
    return Desk(app.test_client())


def _fired(decision: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["rule_id"]: v for v in decision["violations"]}


def test_notified_quantities_count_against_the_refined_petroleum_cap(desk) -> None:
    from engine.replay import ensure_pack_stored, replay
    from engine.rules.caps import default_caps
    from engine.rules.evaluator import default_evaluator

    ensure_pack_stored(default_evaluator().pack)
    desk.register(base=notification("N-2019-03", 480_000, "2019-03-01", "2019-03-31"))
    a = desk.decide(diesel("cap-a", "2019-03-10T00:00:00Z", 30_000, "N-2019-03"))
    assert not ({CAP_RULE, NOTIFY_RULE} & _fired(a).keys())  # notified, and under the cap
    assert a["register_version"] == 2
    note = next(n for n in a["register_notes"] if "cap of UNSCR 2397 (2017) OP5" in n)
    assert "480,000 bbl in 1 approved notification" in note
    assert "after this event: 480,000 bbl of 500,000" in note  # its 30,000 are part of the 480,000
    # an un-notified supply: the notified 480,000 count, so the total is 490,000 (under the cap)
    b = desk.decide(diesel("cap-b", "2019-06-01T00:00:00Z", 10_000))
    assert NOTIFY_RULE in _fired(b) and CAP_RULE not in _fired(b)
    # a second notification (50,000 bbl from May) takes the next supply over the cap
    desk.register(base=notification("N-2019-05", 50_000, "2019-05-01", "2019-05-31"))
    c = desk.decide(diesel("cap-c", "2019-06-02T00:00:00Z", 10_000))
    cap = _fired(c)[CAP_RULE]
    assert "550000 bbl" in cap["reason"], cap["reason"]  # 480k + 50k notified + 10k + 10k seen
    assert c["register_version"] == 4
    note = next(n for n in c["register_notes"] if "cap of UNSCR 2397 (2017) OP5" in n)
    assert "530,000 bbl in 2 approved notifications" in note and "550,000 bbl of 500,000" in note
    # revoking the May notification changes later decisions, not the replay of cap-c
    desk.client.post(
        "/api/v1/exemptions/N-2019-05/revoke", json={"reason": "sent in error"}, headers=desk.maker
    )
    again = replay("cap-c", caps=default_caps())
    assert again.identical, again.diff
    d = desk.decide(diesel("cap-d", "2019-06-03T00:00:00Z", 1_000))
    assert "501000 bbl" in _fired(d)[CAP_RULE]["reason"]  # 480k + 10k + 10k + 1k: May's 50k gone
    assert d["register_version"] == 5


def test_the_alert_page_shows_the_register_notes(desk, login_as) -> None:
    from sqlalchemy import select

    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow

    desk.register(base=notification("N-2019-03", 480_000, "2019-03-01", "2019-03-31"))
    desk.decide(diesel("cap-over", "2019-03-10T00:00:00Z", 30_000, "N-2019-03"))
    d = desk.decide(diesel("cap-over-2", "2019-03-11T00:00:00Z", 25_000))
    assert CAP_RULE in _fired(d)  # 480k notified + 25k
    with session_scope() as s:
        alert_id = s.scalar(
            select(AlertRow.id).where(
                AlertRow.event_id == "cap-over-2", AlertRow.rule_id == CAP_RULE
            )
        )
    client = desk.client
    login_as(client, "auditor")
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "register version 2" in page
    assert "480,000 bbl in 1 approved notification" in page

"""Allowlist pages: a senior officer records, another approves (never the recorder), officers
and auditors read; the entry page shows the decisions it cleared, with their notes."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import update
from web_support import desk_app, logged_in, post_form

from engine.allowlist import store
from engine.storage.db import session_scope
from engine.storage.tables import DecisionRow


@pytest.fixture
def as_role(db, login_as):
    return partial(logged_in, desk_app(), login_as, page="/allowlist")


def _post(client, url: str, **data):
    return post_form(client, url, follow_redirects=True, **data)


def test_record_approve_and_see_what_it_cleared(as_role) -> None:
    import web_seed

    sam, sue = as_role("senior_officer", "sam"), as_role("senior_officer", "sue")
    officer = as_role("officer")
    page = _post(
        sam,
        "/allowlist",
        list_reference="KPe.047",
        party_name="Dunay Logistics LLC",
        country="RU",
        reason="registered 1998 in Vladivostok, unrelated",
        expires_on="2099-01-01",
    ).get_data(as_text=True)
    assert "another senior officer must approve it" in page
    (entry,) = store.entries()
    assert entry.status == "pending"
    assert f"/allowlist/{entry.id}/approve" not in sam.get(f"/allowlist/{entry.id}").text
    assert f"/allowlist/{entry.id}/approve" in sue.get(f"/allowlist/{entry.id}").text
    assert "cannot approve" in _post(sam, f"/allowlist/{entry.id}/approve").get_data(as_text=True)
    assert (
        officer.post(
            f"/allowlist/{entry.id}/approve", data={"csrf_token": officer.token}
        ).status_code
        == 403
    )
    _post(sue, f"/allowlist/{entry.id}/approve")
    assert store.get(entry.id).status == "approved"  # type: ignore[union-attr]

    raw = web_seed.shipment("wl-1")
    web_seed.store(raw, [])  # stored clear; the worker's note is put on its decision
    note = f"Screening hit on KPe.047 set aside: allowlist entry #{entry.id} (version 2): x"
    with session_scope() as s:
        s.execute(
            update(DecisionRow)
            .where(DecisionRow.event_id == "wl-1")
            .values(allowlist_version=2, allowlist_notes=[note])
        )
    shown = officer.get(f"/allowlist/{entry.id}").get_data(as_text=True)
    assert "wl-1" in shown and "set aside: allowlist entry" in shown
    listing = as_role("auditor").get("/allowlist").get_data(as_text=True)
    assert "Dunay Logistics LLC (RU)" in listing and "Record a known false positive" not in listing

"""The officers' register page: record, four-eyes approval, revoke, history."""

from __future__ import annotations

import pytest
from registers_support import HUMANITARIAN

from engine.registers import store

REF = HUMANITARIAN["ref"]
FORM = {
    "ref": REF,
    "kind": "exemption",
    "regime": "DPRK",
    "basis_resolution": "2397 (2017)",
    "basis_paragraph": "25",
    "covers": "UNSCR-2397-OP7, EXEMPT-2397-OP25",
    "valid_from": "2024-01-10",
    "valid_to": "2024-07-10",
    "holder_name": "World Food Programme",
    "holder_country": "IT",
    "end_user": "Nampo Food Processing Cooperative",
    "destination": "kp",
    "goods_hs_0": "8438",
    "goods_description_0": "food-processing equipment",
    "goods_quantity_0": "20",
    "goods_unit_0": "t",
    "document": "S/AC.49/2024/OC.17",
}


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def _client(app, login_as, role: str, name: str | None = None):
    c = app.test_client()
    login_as(c, role, name)
    return c


def test_officer_records_and_a_different_senior_officer_approves(app, login_as) -> None:
    officer = _client(app, login_as, "officer", "olga")
    made = officer.post("/exemptions", data=FORM)
    assert made.status_code == 303
    stored = store.get(REF)
    assert stored.status == "pending" and stored.created_by == "olga"
    assert stored.entry.destination == "KP" and stored.entry.goods[0].hs == ["8438"]
    assert stored.entry.covers == ["UNSCR-2397-OP7", "EXEMPT-2397-OP25"]
    page = officer.get(f"/exemptions/{REF}").get_data(as_text=True)
    assert "awaiting approval" in page and "Approve</button>" not in page
    assert "UNSCR 2397 (2017) OP25" in page  # the basis in the one written form of a citation
    assert officer.post(f"/exemptions/{REF}/approve").status_code == 403
    senior = _client(app, login_as, "senior_officer", "sam")
    page = senior.get(f"/exemptions/{REF}").get_data(as_text=True)
    assert "Approve</button>" in page
    assert (
        senior.post(f"/exemptions/{REF}/approve", data={"note": "letter seen"}).status_code == 303
    )
    after = store.get(REF)
    assert (after.status, after.approved_by) == ("approved", "sam")
    listing = officer.get("/exemptions?status=approved").get_data(as_text=True)
    assert REF in listing and "sam" in listing and "UNSCR 2397 (2017) OP25" in listing


def test_a_senior_officer_cannot_approve_their_own_entry(app, login_as) -> None:
    senior = _client(app, login_as, "senior_officer", "sam")
    assert senior.post("/exemptions", data=FORM).status_code == 303
    page = senior.get(f"/exemptions/{REF}").get_data(as_text=True)
    assert "Approve</button>" not in page
    refused = senior.post(f"/exemptions/{REF}/approve", follow_redirects=True)
    assert "cannot also approve" in refused.get_data(as_text=True)
    assert store.get(REF).status == "pending"


def test_invalid_form_is_shown_with_its_errors(app, login_as) -> None:
    officer = _client(app, login_as, "officer", "olga")
    bad = officer.post("/exemptions", data={**FORM, "valid_to": "2023-01-01", "goods_unit_0": ""})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "valid_to must be after valid_from" in text or "quantity and unit" in text
    assert store.get(REF) is None
    assert officer.post("/exemptions", data=FORM).status_code == 303
    dup = officer.post("/exemptions", data=FORM)
    assert dup.status_code == 409 and "already in the register" in dup.get_data(as_text=True)


def test_revoke_and_history(app, login_as) -> None:
    officer = _client(app, login_as, "officer", "olga")
    officer.post("/exemptions", data=FORM)
    auditor = _client(app, login_as, "auditor", "audrey")
    assert auditor.get(f"/exemptions/{REF}").status_code == 200
    assert auditor.post(f"/exemptions/{REF}/revoke", data={"reason": "x"}).status_code == 403
    assert auditor.get("/exemptions/new").status_code == 403
    assert (
        officer.post(f"/exemptions/{REF}/revoke", data={"reason": "withdrawn"}).status_code == 303
    )
    page = auditor.get(f"/exemptions/{REF}").get_data(as_text=True)
    assert "withdrawn" in page and "revoke" in page
    assert [c.action for c in store.history(REF)] == ["create", "revoke"]
    assert officer.get("/exemptions/NO-SUCH").status_code == 404

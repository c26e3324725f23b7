"""The /rules pages: every measure of the pack is listed with its citation, dates, summary and
confidence note, and each has a detail page with its condition and examples."""

from __future__ import annotations

import pytest

from engine.rules.loader import load_pack


@pytest.fixture
def client(db, login_as):
    from web import create_app

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    c = app.test_client()
    login_as(c, "auditor")
    return c


def test_list_shows_every_measure_with_citation_dates_and_confidence(client) -> None:
    pack = load_pack()
    resp = client.get("/rules")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for rule in pack.rules:
        assert f"/rules/{rule.id}" in html, rule.id
    assert "UNSCR 2397 (2017) OP5" in html
    assert "suspended 2016-01-16" in html  # Iran JCPOA gap is visible
    # a recalled paragraph carries its note on the list page
    assert pack.rule("UNSCR-2375-OP11").confidence_note.split(";")[0][:40] in html


def test_detail_page_shows_condition_examples_and_register(client) -> None:
    from engine.config import PROJECT_ROOT
    from engine.registers.importing import read_file
    from engine.registers.store import import_entries

    # the registers are in the store; the demo entries come from the import file
    import_entries(read_file(PROJECT_ROOT / "rules" / "exemptions.yaml"), "olga", "sam")
    resp = client.get("/rules/UNSCR-2375-OP16")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "wind-down" in html.lower() and "2017-12-10" in html
    assert "Examples that must fire" in html and "ex-unscr-2375-op16-fire-direct" in html
    assert "DEMO-1718-NOTIF-2017-TEXTILE" in html  # the register entry that can lift it
    assert "apparel HS 61, 62" in html  # with its goods
    assert "HS" in html and "&#39;50&#39;" in html or "'50'" in html


def test_unknown_measure_is_404_and_anonymous_is_sent_to_login(client, db) -> None:
    assert client.get("/rules/NO-SUCH-RULE").status_code == 404
    from web import create_app

    anon = create_app({"TESTING": True}).test_client()
    resp = anon.get("/rules")
    assert resp.status_code in (302, 303) and "login" in resp.headers["Location"]

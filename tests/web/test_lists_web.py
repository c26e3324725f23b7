"""The list snapshot pages: snapshots, one snapshot's change report, a diff, an entry's history."""

from __future__ import annotations

from lists_support import list_file

from engine.lists import store
from engine.lists.importer import import_list


def test_pages_need_a_login(db: None) -> None:
    from web import create_app

    resp = create_app({"TESTING": True}).test_client().get("/lists/")
    assert resp.status_code in (302, 401)


def test_empty_index(client) -> None:
    resp = client.get("/lists/")
    assert resp.status_code == 200 and "No snapshot imported yet" in resp.text


def test_snapshots_report_diff_and_entry_pages(client) -> None:
    import_list(str(list_file("2026-02-27")))
    import_list(str(list_file("2026-05-08")))
    old, new = store.snapshots()

    index = client.get("/lists/")
    assert index.status_code == 200
    assert "2026-05-08" in index.text and "737" in index.text and new.sha256[:12] in index.text
    assert f"/lists/diff?a={old.id}&amp;b={new.id}" in index.text

    page = client.get(f"/lists/{new.id}")
    assert page.status_code == 200
    for ref in ("QDi.437", "QDi.439", "SDi.011", "SDi.014", "QDe.137"):
        assert ref in page.text
    assert "Added <b>7</b>" in page.text and "Removed (delisted) <b>1</b>" in page.text

    diff = client.get(f"/lists/diff?a={old.id}&b={new.id}")
    assert diff.status_code == 200
    assert "<b>7</b> added, <b>1</b> removed" in diff.text and "SDi.013" in diff.text

    entry = client.get("/lists/entry/QDe.137")
    assert entry.status_code == 200 and "Delisted" in entry.text
    listed = client.get("/lists/entry/KPe.047")
    assert listed.status_code == 200 and "FTBDKPPY" in listed.text and "Delisted" not in listed.text

    assert client.get("/lists/entry/XXe.999").status_code == 404
    assert client.get("/lists/9999").status_code == 404
    bad = client.get(f"/lists/diff?a={old.id}&b=1999-01-01")
    assert bad.status_code == 400 and "no snapshot" in bad.text

"""The alert queue (filters, sorting, pages, counts, CSV) and the detail page, on real rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import web_seed
from sqlalchemy import update

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def ids_in(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td><a href="/alerts/(\d+)">\1</a></td>', html)]


def seed_queue() -> dict[str, int]:
    now = datetime.now(UTC)
    ids = {}
    ids["old_dprk"] = web_seed.store(
        web_seed.shipment("e-old", consignee="Old Trading", vessel="NORTH WIND"),
        [web_seed.violation("dprk-coal", severity="medium")],
        created_at=now - timedelta(days=30),
    )[0]
    ids["iran"] = web_seed.store(
        web_seed.shipment(
            "e-iran",
            consignee="Persia Ship Co",
            vessel="DAMAVAND",
            occurred_at="2022-05-01T00:00:00+00:00",
        ),
        [web_seed.violation("iran-arms", regime="Iran", severity="high")],
        created_at=now - timedelta(days=10),
    )[0]
    ids["retro"] = web_seed.store(
        web_seed.shipment("e-retro", consignee="Listed Front Company"),
        [web_seed.violation("asset-freeze", regime="DPRK", severity="critical")],
        origin="retro_screening",
        created_at=now - timedelta(days=2),
    )[0]
    ids["najin"] = web_seed.najin_dunay()
    return ids


def test_queue_newest_first_and_counts(client) -> None:
    ids = seed_queue()
    html = client.get("/alerts").get_data(as_text=True)
    assert ids_in(html) == [ids["najin"], ids["retro"], ids["iran"], ids["old_dprk"]]
    assert re.search(r"open <b>4</b>", html) and re.search(r"closed <b>0</b>", html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("regime=Iran", ["iran"]),
        ("rule_id=dprk-coal", ["old_dprk"]),
        ("severity=critical", ["najin", "retro"]),
        ("origin=retro_screening", ["retro"]),
        ("q=damavand", ["iran"]),  # vessel name, case-insensitive
        ("q=persia+ship", ["iran"]),  # party name
        ("q=dunay+logistics", ["najin"]),
        ("q=ANG%25RA", []),  # a literal %, not a wildcard (ANGARA would match one)
        ("q=an_ara", []),  # a literal _, not a wildcard
        ("q=angara", ["najin"]),
        ("date_on=occurred&from=2022-01-01&to=2022-12-31", ["iran"]),
        ("status=closed", []),
        ("assignee=-", ["najin", "retro", "iran", "old_dprk"]),
        ("sort=severity&dir=desc", ["najin", "retro", "iran", "old_dprk"]),
        ("sort=severity&dir=asc", ["old_dprk", "iran", "retro", "najin"]),
        ("sort=occurred&dir=asc", ["iran", "najin", "old_dprk", "retro"]),
    ],
)
def test_filters_and_sorting(client, query: str, expected: list[str]) -> None:
    ids = seed_queue()
    html = client.get(f"/alerts?{query}").get_data(as_text=True)
    got = ids_in(html)
    if query.startswith("sort=severity"):  # same severity: newest first tie-break
        assert [got.index(ids[k]) for k in expected] == sorted(got.index(ids[k]) for k in expected)
    assert got == [ids[k] for k in expected], (query, got)


def test_date_range_on_alert_creation(client) -> None:
    ids = seed_queue()
    since = (datetime.now(UTC) - timedelta(days=15)).date().isoformat()
    until = (datetime.now(UTC) - timedelta(days=5)).date().isoformat()
    html = client.get(f"/alerts?from={since}&to={until}").get_data(as_text=True)
    assert ids_in(html) == [ids["iran"]]
    assert "is not a date" in client.get("/alerts?from=yesterday").get_data(as_text=True)


def test_assignee_filter_and_state_counts(client) -> None:
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow

    ids = seed_queue()
    with session_scope() as s:
        s.execute(
            update(AlertRow)
            .where(AlertRow.id == ids["iran"])
            .values(assignee="officer", status="in_review")
        )
    html = client.get("/alerts?assignee=me").get_data(as_text=True)
    assert ids_in(html) == [ids["iran"]]
    html = client.get("/alerts?regime=DPRK").get_data(as_text=True)
    assert re.search(r"open <b>3</b>", html) and re.search(r"in review <b>0</b>", html)
    html = client.get("/alerts?status=in_review").get_data(as_text=True)
    assert ids_in(html) == [ids["iran"]] and re.search(r"in review <b>1</b>", html)


def test_pagination_keeps_the_filter(client) -> None:
    for i in range(30):
        web_seed.store(web_seed.shipment(f"p-{i:02d}"), [web_seed.violation("dprk-coal")])
    web_seed.store(web_seed.shipment("p-iran"), [web_seed.violation("iran-arms", regime="Iran")])
    page1 = client.get("/alerts?regime=DPRK&per_page=25").get_data(as_text=True)
    page2 = client.get("/alerts?regime=DPRK&per_page=25&page=2").get_data(as_text=True)
    assert len(ids_in(page1)) == 25 and len(ids_in(page2)) == 5
    assert not set(ids_in(page1)) & set(ids_in(page2))
    assert "page 1 of 2" in page1
    assert 'href="?regime=DPRK&amp;page=2&amp;per_page=25"' in page1


def test_csv_export_of_the_current_view(client) -> None:
    ids = seed_queue()
    web_seed.store(
        web_seed.shipment('=HYPERLINK("http://x")'),
        [web_seed.violation("dprk-coal", title="=cmd|' /C calc'!A0")],
    )
    resp = client.get("/alerts.csv?regime=DPRK&sort=severity")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["regime"] for r in rows} == {"DPRK"} and len(rows) == 4
    assert int(rows[0]["id"]) in (ids["najin"], ids["retro"])  # critical first
    injected = [r for r in rows if "HYPERLINK" in r["event_id"]][0]
    assert injected["event_id"].startswith("'=") and injected["title"].startswith("'=")
    najin = [r for r in rows if int(r["id"]) == ids["najin"]][0]
    # ISO 8601 in UTC (spreadsheets parse it), parties and vessel of the event, the reason
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", najin["created_at"])
    assert "consignor: Korea Mining Development Trading Corporation (KP)" in najin["parties"]
    assert najin["reason"].startswith("Munitions (HS 9306)") and najin["case_id"]


def test_csv_names_who_closed_an_alert_and_why_and_the_local_day(client, login_as) -> None:
    from web.desk.workflow import Actor, run

    ids = seed_queue()
    login_as(client, "officer", "olga")
    run(
        ids["iran"],
        Actor("olga", "officer"),
        "close",
        resolution="false_positive",
        note="-other Persia",
    )
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(client.get("/alerts.csv").text))}
    closed = rows[ids["iran"]]
    assert (closed["closed_by"], closed["rationale"]) == ("olga", "'-other Persia")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", closed["closed_at"])
    assert rows[ids["najin"]]["closed_by"] == ""
    # the queue shows the event's own day (06:00 at +09:00 on 7 September is 6 September UTC),
    # the day its reason text speaks of
    html = client.get("/alerts").text
    assert "2023-09-07 (UTC+09:00)" in html


def test_detail_page_shows_measure_citation_evidence_and_event(client) -> None:
    alert_id = web_seed.najin_dunay()
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "DPRK arms exports (heavy conventional arms and related materiel)" in html
    assert "UNSCR 1718 (2006), operative paragraph 8(b)" in html
    assert "UNSCR 1874 (2009), operative paragraph 9" in html
    assert 'href="/rules/UNSCR-1718-OP8b"' in html
    assert "shipment.goods[0].hs_code" in html and "&#34;9306&#34;" in html
    assert "Munitions (HS 9306) shipped from Najin" in html
    assert "Confidence</dt><dd>high" in html
    assert "live evaluation" in html
    assert "Dunay Logistics LLC" in html and "test-pack-1" in html
    assert client.get("/alerts/999999").status_code == 404


def test_retro_screening_is_marked(client) -> None:
    (alert_id,) = web_seed.store(
        web_seed.shipment("e-r"), [web_seed.violation("asset-freeze")], origin="retro_screening"
    )
    assert "retro-screening" in client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "retro-screening" in client.get("/alerts").get_data(as_text=True)


def test_hostile_event_data_renders_as_text_everywhere(client, login_as) -> None:
    raw = web_seed.shipment("evil-" + HOSTILE, consignee=HOSTILE, vessel=HOSTILE)
    v = web_seed.violation("UNSCR-1718-OP8b", title="Arms " + HOSTILE)
    v.evidence[0].value = HOSTILE
    v.reason = "because " + HOSTILE
    (alert_id,) = web_seed.store(raw, [v])
    from web.desk.workflow import Actor, run

    run(alert_id, Actor("officer", "officer"), "add_note", kind="comment", body=HOSTILE)
    pages = [
        client.get("/alerts").get_data(as_text=True),
        client.get("/alerts?q=" + HOSTILE).get_data(as_text=True),
        client.get(f"/alerts/{alert_id}").get_data(as_text=True),
        client.get("/dashboard").get_data(as_text=True),
        client.get("/alerts/bulk?action=assign&assign_to=me").get_data(as_text=True),
    ]
    login_as(client, "auditor")
    pages.append(client.get("/audit").get_data(as_text=True))
    for html in pages:
        assert "<script>alert(1)" not in html and "<img src=x" not in html
    detail = pages[2]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail  # the name is shown, as text
    assert "because &lt;script&gt;" in detail


def test_security_headers_on_every_page(client) -> None:
    alert_id = web_seed.najin_dunay()
    for url in ("/alerts", f"/alerts/{alert_id}", "/dashboard", "/login", "/static/desk.css"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    # nothing the CSP would have to allow: only the desk's own script file, no inline code
    tags = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert tags == [(' src="/static/desk.js" defer', "")], tags
    assert html.count("<script") == 1 and " style=" not in html


@pytest.mark.parametrize(
    "needle", ["Ünal Denizcilik", "ünal denizcilik", "ÜNAL", 'The "Blue" Fleet', "o'brien & sons"]
)
def test_name_search_with_quotes_and_non_ascii(client, needle: str) -> None:
    (hit,) = web_seed.store(
        web_seed.shipment("n-1", consignee='Ünal Denizcilik · The "Blue" Fleet · O\'Brien & Sons'),
        [web_seed.violation("dprk-coal")],
    )
    web_seed.store(
        web_seed.shipment("n-2", consignee="Someone Else"), [web_seed.violation("dprk-coal")]
    )
    got = ids_in(client.get("/alerts", query_string={"q": needle}).get_data(as_text=True))
    assert got == [hit], needle

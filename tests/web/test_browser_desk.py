"""The desk in a real browser: Playwright driving Debian's Chromium against a real HTTP server.

Officer assigns, comments on and escalates the Najin -> Dunay alert; a senior officer closes it;
an auditor sees the history and no action buttons. Screenshots: docs/screenshots/ with
SANCTIONS_SCREENSHOTS=1 (`SANCTIONS_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser_desk.py`).
Without Chromium the test is skipped locally and fails under CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import web_seed

pytestmark = pytest.mark.browser

# The README's screenshots are refreshed with SANCTIONS_SCREENSHOTS=1 (otherwise a run would
# rewrite tracked files: the pages show the time); by default they go to the test's tmp dir.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-test-password"


def _chromium() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    message = "Chromium not found (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def server(db) -> Iterator[str]:
    from werkzeug.serving import make_server

    from web import create_app

    # Production cookie settings (Secure included): Chromium keeps Secure cookies from
    # http://127.0.0.1, which is what `make run` serves.
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def seed_queue() -> int:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    web_seed.store(
        web_seed.shipment(
            "tms-7:BL-0833",
            consignor="Korea Songi Trading",
            consignee="Primorye Coal Export",
            vessel="SKY LIGHT",
            origin=("KP", "Nampo"),
            destination=("CN", "Longkou"),
        ),
        [
            web_seed.violation(
                "dprk-coal-export",
                severity="high",
                title="Export of coal from the DPRK",
                citations=[("2371 (2017)", "8")],
            )
        ],
        created_at=now - timedelta(days=9),
    )
    web_seed.store(
        web_seed.shipment(
            "erp-2:PO-1142",
            consignor="Bandar Marine Works",
            consignee="Gulf Marine Supply",
            vessel="ARYA",
            origin=("IR", "Bandar Abbas"),
            destination=("YE", "Hodeidah"),
        ),
        [
            web_seed.violation(
                "yemen-arms-embargo",
                regime="Yemen",
                severity="medium",
                title="Arms to designated individuals in Yemen",
                citations=[("2216 (2015)", "14")],
            )
        ],
        created_at=now - timedelta(days=4),
    )
    web_seed.store(
        web_seed.shipment(
            "ais:477000111",
            consignor="Ocean Star Holdings",
            consignee="<script>alert('x')</script> Trading",
            vessel="LUCKY WAVE",
            origin=("CN", "Dalian"),
            destination=("KP", "Nampo"),
        ),
        [
            web_seed.violation(
                "dprk-asset-freeze",
                severity="critical",
                title="Funds of a designated entity",
                citations=[("2270 (2016)", "32")],
            )
        ],
        origin="retro_screening",
        created_at=now - timedelta(days=1),
    )
    return web_seed.najin_dunay()


def make_users() -> None:
    from web.auth.accounts import create_user

    create_user("olga", PASSWORD, "officer", display_name="Olga Officer")
    create_user("sam", PASSWORD, "senior_officer", display_name="Sam Senior")
    create_user("ada", PASSWORD, "auditor", display_name="Ada Auditor")


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/alerts")


def logout(page) -> None:
    page.click("form.whoami button")
    page.wait_for_url("**/login")


def test_officer_escalates_senior_closes_auditor_reads(
    server: str, browser, tmp_path: Path
) -> None:
    shots = DOCS_SCREENSHOTS if os.environ.get("SANCTIONS_SCREENSHOTS") == "1" else tmp_path
    alert_id = seed_queue()
    make_users()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    # Officer: the queue, newest first; hostile names are text, the stylesheet loads under CSP.
    login(page, server, "olga")
    assert page.locator("table.queue tbody tr").count() == 4
    first_row = page.locator("table.queue tbody tr").first
    assert (
        "DPRK arms exports (heavy conventional arms and related materiel)" in first_row.inner_text()
    )
    assert "<script>alert('x')</script>" in page.locator("table.queue").inner_text()
    topbar_bg = page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor")
    assert topbar_bg == "rgb(31, 54, 80)"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "alert-queue.png"), full_page=True)

    # Filter by vessel name, then open the Najin -> Dunay alert.
    page.fill("input[name=q]", "angara")
    page.click("form.filters button[type=submit]")
    assert "q=angara" in page.url
    assert page.locator("table.queue tbody tr").count() == 1
    page.click(f"table.queue a[href='/alerts/{alert_id}'] >> nth=0")
    page.wait_for_url(f"{server}/alerts/{alert_id}")
    body = page.locator("main").inner_text()
    assert "UNSCR 1718 (2006), operative paragraph 8(b)" in body
    assert "UNSCR 1874 (2009), operative paragraph 9" in body
    assert "shipment.goods[0].hs_code" in body and "Najin" in body

    page.click("button[name=assign_me]")
    page.wait_for_load_state()
    assert "Assignment saved." in page.locator("main").inner_text()
    page.fill("textarea[name=body]", "B/L BL-0917: 1000 containers of HS 9306 loaded at Najin.")
    page.click("text=Add note")
    page.wait_for_load_state()
    page.fill(
        "form[action$='/escalate'] input[name=note]", "Munitions from the DPRK: senior review."
    )
    page.click("form[action$='/escalate'] button")
    page.wait_for_load_state()
    assert "escalated" in page.locator("section.card >> nth=1").inner_text()
    page.screenshot(path=str(shots / "alert-detail.png"), full_page=True)
    logout(page)

    # Senior officer closes it as a true positive.
    login(page, server, "sam")
    page.goto(f"{server}/alerts/{alert_id}")
    page.select_option("form[action$='/close'] select[name=resolution]", "true_positive")
    page.fill(
        "form[action$='/close'] input[name=note]",
        "Confirmed breach of OP8(b); report to the authority.",
    )
    page.click("form[action$='/close'] button")
    page.wait_for_load_state()
    assert "Closure recorded." in page.locator("main").inner_text()
    logout(page)

    # Auditor: full history, no workflow buttons (only "Replay this decision", which changes no alert).
    login(page, server, "ada")
    page.goto(f"{server}/alerts/{alert_id}")
    history = page.locator("ol.history").inner_text()
    for expected in (
        "olga assign",
        "olga comment",
        "olga escalate",
        "sam close",
        "status: escalated → closed",
        "Confirmed breach of OP8(b)",
    ):
        assert expected in history, (expected, history)
    assert page.locator("section.actions").count() == 0
    assert page.locator(f"main form[action^='/alerts/{alert_id}/']").count() == 0
    assert page.locator("main button").all_inner_texts() == ["Replay this decision"]
    assert page.locator("main form[action='/replays'] button").count() == 1

    page.goto(f"{server}/dashboard")
    assert page.locator("svg.chart rect").count() == 12
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    assert dialogs == [], "hostile event data ran as script"
    assert csp_violations == [], csp_violations
    context.close()

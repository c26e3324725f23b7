"""The case flow in a real browser (issue 14): a real HTTP server, a real worker process on the
run's real broker and database, events pushed through the API.

A designated party's first event opens a case; its second event joins that case. A senior
officer records "this party is not KPe.902" routed to a named colleague, who approves it (four
eyes); the party's next event is decided clear and the entry shows its note. The case shows its
overdue badge under a short SLA. The new critical case is told to a subscribed webhook: a local
HTTP receiver gets the signed POST (HMAC checked here, not with the code under test), and an
admin sees it delivered in the endpoint's delivery log.

Screenshots at 1366 x 768 and 390 x 844: docs/screenshots/ with SANCTIONS_SCREENSHOTS=1
(`SANCTIONS_SCREENSHOTS=1 .venv/bin/python -m pytest tests/web/test_browser_cases_journey.py`),
else the test's tmp dir. Without Chromium the test is skipped locally and fails under CI.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_support import webhook_receiver
from pipeline_support import redis_client, wait_for
from screening_support import import_xml, list_xml
from sqlalchemy import select
from test_browser_desk import DOCS_SCREENSHOTS, PASSWORD, _chromium, browser, server  # noqa: F401

from engine.cases.tables import CaseRow
from engine.storage.db import session_scope
from engine.storage.tables import DecisionRow

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "rules" / "dprk" / "finance" / "UNSCR-1718-OP8d.yaml"  # the 1718 asset freeze
LISTED = "ACME OCEAN TRADING CORPORATION"
SLA_SECONDS = 2.0  # the critical due time here, so the case is overdue by the time it is looked at
WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 390, "height": 844}


def shipment(event_id: str, day: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": f"2024-06-{day:02d}T09:00:00Z",
        "source": "tms-7",
        "shipment": {
            "reference": f"BL-{event_id}",
            "mode": "sea",
            "origin": {"country": "SG", "place": "Singapore"},
            "destination": {"country": "AE", "place": "Jebel Ali"},
            "goods": [
                {"hs_code": "847130", "description": "laptops", "quantity": 10, "unit": "pcs"}
            ],
            "parties": [
                {"role": "shipper", "name": "Straits Electronics Pte Ltd", "country": "SG"},
                {"role": "consignee", "name": "Acme Ocean Trading Corp.", "country": "AE"},
            ],
        },
    }


@pytest.fixture
def world(db: None, broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The list entry, the users, an API key, a webhook endpoint (a local receiver) for new
    critical cases and one worker deciding with the 1718 asset freeze (one rule, so the worker
    is ready in seconds) and delivering notifications; the web app reads a short SLA."""
    from engine.notify.endpoints import create as create_endpoint
    from engine.notify.events import CRITICAL_CASE
    from engine.pipeline.worker import start_worker, stop_worker
    from engine.storage.db import get_engine
    from web.auth.accounts import create_user
    from web.auth.apikeys import create_api_key

    rules = tmp_path / "rules"
    (rules / "dprk").mkdir(parents=True)
    (rules / "dprk" / RULE.name).write_bytes(RULE.read_bytes())
    import_xml(
        tmp_path,
        "list.xml",
        list_xml("2024-01-10T00:00:00Z", [(900002, "KPe.902", LISTED, "2016-03-02", "")]),
    )
    create_user("olga", PASSWORD, "officer", display_name="Olga Officer")
    create_user("sam", PASSWORD, "senior_officer", display_name="Sam Senior")
    create_user("tina", PASSWORD, "senior_officer", display_name="Tina Senior")
    create_user("root", PASSWORD, "admin", display_name="Root Admin")
    _row, key = create_api_key("tms-7", ["events:write", "events:read"], actor="pytest")
    redis_client(broker_url).delete("sanctions", "unacked", "unacked_index")
    receiver_cm = webhook_receiver()
    receiver = receiver_cm.__enter__()
    with get_engine().begin() as conn:
        endpoint_id, secret = create_endpoint(
            conn, receiver.url, [CRITICAL_CASE], actor="pytest", description="case desk hook"
        )
    env = {
        **os.environ,
        "REDIS_URL": broker_url,
        "SANCTIONS_RULES_DIR": str(rules),
        "SANCTIONS_SWEEP_INTERVAL": "0",
        "SANCTIONS_SCREENING_REFRESH_SECONDS": "0",
        "SANCTIONS_NOTIFY_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "worker.log"
    proc = start_worker(env=env, concurrency=1, loglevel="INFO", log_path=log)
    monkeypatch.setenv("SANCTIONS_SLA_HOURS", f"critical={SLA_SECONDS / 3600}")
    try:
        yield {
            "key": key,
            "log": log,
            "proc": proc,
            "receiver": receiver,
            "secret": secret,
            "endpoint_id": endpoint_id,
        }
    finally:
        stop_worker(proc, timeout=10)
        receiver_cm.__exit__(None, None, None)
        redis_client(broker_url).delete("sanctions", "unacked", "unacked_index")


def push(base: str, key: str, event: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1/events",
        data=json.dumps(event).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        return json.load(response)


def decided(world: dict[str, Any], event_id: str) -> str:
    """Wait for the worker's decision of one event; its status."""

    def status() -> str | None:
        with session_scope() as s:
            return s.scalar(select(DecisionRow.status).where(DecisionRow.event_id == event_id))

    found = wait_for(status, timeout=180, interval=0.2)
    assert found, f"{event_id} not decided\n{world['log'].read_text(errors='replace')[-3000:]}"
    return found


def delivery_status(endpoint_id: int) -> str | None:
    from engine.notify.tables import DeliveryRow

    with session_scope() as s:
        return s.scalar(select(DeliveryRow.status).where(DeliveryRow.endpoint_id == endpoint_id))


def signed_by(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check, written out: t=<unix>,v1=<HMAC-SHA256 hex of b"<t>." + body>."""
    fields = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(
        secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/alerts")


def logout(page) -> None:
    page.click("form.whoami button")
    page.wait_for_url("**/login")


def shoot(page, shots: Path, name: str) -> None:
    """The page at 1366 and at 390 px wide; at 390 nothing may stick out sideways."""
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.set_viewport_size(NARROW)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow} px wider than a 390 px screen"
    page.screenshot(path=str(shots / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(WIDE)


def test_case_flow_in_the_browser(server: str, browser, world, tmp_path: Path) -> None:  # noqa: F811
    shots = DOCS_SCREENSHOTS if os.environ.get("SANCTIONS_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # A first event about the listed party opens a case.
    assert push(server, world["key"], shipment("jr-1", 3))["status"] == "accepted"
    assert decided(world, "jr-1") == "flagged"
    login(page, server, "olga")
    page.goto(f"{server}/cases")
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert "Dealing with a party designated under the 1718 regime" in rows.first.inner_text()
    page.click("table.cases tbody tr >> nth=0 >> a >> nth=0")
    page.wait_for_url(f"{server}/cases/*")
    case_url = page.url
    case_id = int(case_url.rsplit("/", 1)[1])
    assert page.locator("text=linked occurrence").count() == 0

    # The new critical case reached the subscribed webhook, signed with the endpoint's secret.
    receiver = world["receiver"]
    assert receiver.wait_for(1, timeout=60), world["log"].read_text(errors="replace")[-3000:]
    hook = receiver.requests[0]
    assert hook.path == "/hook"
    assert signed_by(world["secret"], hook.headers["X-Sanctions-Signature"], hook.body)
    assert not signed_by("whsec_another-secret", hook.headers["X-Sanctions-Signature"], hook.body)
    assert wait_for(lambda: delivery_status(world["endpoint_id"]) == "delivered", timeout=30)
    sent = json.loads(hook.body)
    assert sent["type"] == "case.critical_opened"
    assert (sent["data"]["case"]["id"], sent["data"]["event_id"]) == (case_id, "jr-1")

    # A second event about the same party joins the open case instead of opening another.
    push(server, world["key"], shipment("jr-2", 5))
    assert decided(world, "jr-2") == "flagged"
    page.reload()
    events = page.locator("section.card", has=page.locator("h2", has_text="Events (")).inner_text()
    assert "jr-1" in events and "jr-2" in events
    assert "linked occurrence (same entry:KPe.902)" in events
    page.goto(f"{server}/cases")
    assert page.locator("table.cases tbody tr").count() == 1
    logout(page)

    # Sam records the known false positive, routed to Tina; Sam cannot approve it himself.
    login(page, server, "sam")
    page.goto(f"{server}/allowlist")
    form = page.locator("form[action='/allowlist']")
    form.locator("input[name=list_reference]").fill("KPe.902")
    form.locator("input[name=party_name]").fill("Acme Ocean Trading Corp.")
    form.locator("input[name=country]").fill("AE")
    form.locator("input[name=expires_on]").fill("2099-01-01")
    form.locator("input[name=reason]").fill(
        "Our customer since 2009 (LEI checked): not the DPRK front company"
    )
    form.locator("select[name=approver]").select_option("tina")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}/allowlist/*")
    entry_url = page.url
    assert "tina must approve it" in page.locator("main").inner_text()
    assert page.locator("form[action$='/approve']").count() == 0
    logout(page)

    # Tina finds it in her inbox and approves it.
    login(page, server, "tina")
    page.goto(f"{server}/approvals")
    inbox = page.locator("section[aria-label='your inbox']")
    assert "is not KPe.902" in inbox.inner_text()
    inbox.locator("a", has_text="is not KPe.902").click()
    page.wait_for_url(entry_url)
    page.fill("form[action$='/approve'] input[name=note]", "LEI and registry extract seen")
    page.click("form[action$='/approve'] button")
    page.wait_for_load_state()
    assert "Allowlist entry approved" in page.locator("main").inner_text()

    # The party's next event is decided clear, and the entry shows the note it left.
    push(server, world["key"], shipment("jr-3", 7))
    assert decided(world, "jr-3") == "clear"
    page.reload()
    cleared = page.locator("section.card", has_text="Decisions cleared with this entry")
    text = cleared.inner_text()
    assert "jr-3" in text and "clear" in text
    assert "set aside as a known false positive: allowlist entry #" in text and "since 2009" in text
    shoot(page, shots, "allowlist-entry")

    # The case (older than the short SLA by now) carries its overdue badge in the queue.
    with session_scope() as s:
        opened = s.scalars(select(CaseRow.opened_at)).one()
    opened = opened if opened.tzinfo else opened.replace(tzinfo=UTC)
    assert wait_for(lambda: datetime.now(UTC) > opened + timedelta(seconds=SLA_SECONDS), timeout=10)
    page.goto(f"{server}/cases")
    row = page.locator("table.cases tbody tr").first
    assert row.locator(".badge.overdue").inner_text() == "overdue"
    assert row.locator("td").nth(3).inner_text() == "2"  # events in the case
    shoot(page, shots, "case-queue")
    page.goto(case_url)
    assert "overdue" in page.locator("main").inner_text()
    shoot(page, shots, "case-page")

    logout(page)

    # An admin sees the webhook delivered in the endpoint's delivery log, with its attempt.
    login(page, server, "root")
    page.goto(f"{server}/admin/webhooks/{world['endpoint_id']}/deliveries")
    row = page.locator("table.deliveries tbody tr", has_text="case.critical_opened")
    assert row.get_attribute("data-status") == "delivered"
    assert row.locator(".delivery-status").inner_text() == "delivered"
    row.locator("a").first.click()
    page.wait_for_url(f"{server}/admin/deliveries/*")
    assert page.locator("#delivery-status").inner_text() == "delivered"
    attempt = page.locator("table.attempts tr[data-attempt='1']").inner_text()
    assert "200" in attempt and "receiver answer 1 (200)" in attempt

    assert dialogs == [], "event data ran as script"
    assert world["proc"].poll() is None
    context.close()

"""Snoozes through the desk: a senior officer snoozes from the alert page, the repeat shows on
the case page as a snoozed occurrence with no new alert, the list shows it, an officer lifts it."""

from __future__ import annotations

import copy
import re

import pytest
import web_seed
from sqlalchemy import select

from engine.cases.tables import CaseAlertRow
from engine.snoozes import store
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow


@pytest.fixture
def app(db):
    from web import create_app

    return create_app({"TESTING": True})


@pytest.fixture
def as_role(app, login_as):
    def make(role: str):
        client = app.test_client()
        login_as(client, role)
        html = client.get("/snoozes").get_data(as_text=True)
        client.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return client

    return make


def _ship(event_id: str) -> dict:
    raw = copy.deepcopy(web_seed.NAJIN_DUNAY)
    raw["event_id"] = event_id
    return raw


def test_snooze_from_the_alert_page_then_lift(as_role) -> None:
    (alert_id,) = web_seed.store(_ship("ws-1"), [web_seed.DPRK_ARMS])
    with session_scope() as s:
        case_id = s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id))
    senior = as_role("senior_officer")
    assert f"/snoozes/new?alert_id={alert_id}" in senior.get(f"/alerts/{alert_id}").text
    form = senior.get(f"/snoozes/new?alert_id={alert_id}").text
    assert 'value="imo:9179842"' in form and "shipment.goods[0].hs_code" in form
    officer = as_role("officer")
    assert "/snoozes/new" not in officer.get(f"/alerts/{alert_id}").text
    data = {"alert_id": alert_id, "key": "imo:9179842", "days": "7", "reason": "TMS re-sends"}
    assert officer.post("/snoozes", data={"csrf_token": officer.token, **data}).status_code == 403
    done = senior.post(
        "/snoozes", data={"csrf_token": senior.token, **data}, follow_redirects=True
    ).text
    (snooze,) = store.rows("active")
    assert f"Snooze {snooze.id} set until" in done and "imo:9179842" in done
    assert "TMS re-sends" in done

    assert web_seed.store(_ship("ws-2"), [web_seed.DPRK_ARMS]) == []
    page = officer.get(f"/cases/{case_id}").text
    assert "ws-2" in page and f"snoozed occurrence: no new alert (snooze #{snooze.id})" in page
    listing = officer.get("/snoozes").text
    withheld = re.search(r"<td>(\d+)</td>\s*<td>senior_officer: TMS re-sends", listing)
    assert withheld is not None and withheld.group(1) == "1"

    lifted = officer.post(
        f"/snoozes/{snooze.id}/lift",
        data={"csrf_token": officer.token, "note": "fixed upstream"},
        follow_redirects=True,
    ).text
    assert f"Snooze {snooze.id} lifted" in lifted and "No snoozes." in lifted
    assert "fixed upstream" not in lifted  # the active list is empty now
    assert "lifted" in officer.get("/snoozes?status=lifted").text
    with session_scope() as s:
        actions = list(
            s.scalars(
                select(AuditRow.action)
                .where(AuditRow.target_type == "snooze")
                .order_by(AuditRow.id)
            )
        )
    assert actions == ["snooze_create", "snooze_lift"]
    assert len(web_seed.store(_ship("ws-3"), [web_seed.DPRK_ARMS])) == 1

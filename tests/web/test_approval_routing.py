"""Approval routing (issue 14): a four-eyes request goes to a named senior officer or to the pool;
an away senior's requests, and unanswered ones, fall back to the pool with an audit row; the
requester never decides their own. Through the web routes, on the run's database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import web_seed
from sqlalchemy import select, update

from engine.allowlist import store
from engine.approvals.tables import ApprovalRouteRow
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow
from engine.storage.tables import AlertRow


@pytest.fixture
def as_role(db, login_as):
    from web import create_app

    app = create_app({"TESTING": True})

    def make(role: str, username: str | None = None):
        client = app.test_client()
        login_as(client, role, username)
        html = client.get("/approvals").get_data(as_text=True)
        client.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return client

    return make


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": client.token, **data}, follow_redirects=True)


def status(alert_id: int) -> str:
    with session_scope() as s:
        row = s.get(AlertRow, alert_id)
        assert row is not None
        return row.status


def audit(action: str) -> list[tuple[str, str, str | None]]:
    with session_scope() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id))
        return [(r.actor, r.target_id, r.note) for r in rows]


@pytest.fixture
def team(as_role):
    """Olga (officer); seniors Sam, Tina and Uma; an admin."""
    return {
        "olga": as_role("officer", "olga"),
        "sam": as_role("senior_officer", "sam"),
        "tina": as_role("senior_officer", "tina"),
        "uma": as_role("senior_officer", "uma"),
        "admin": as_role("admin", "root"),
    }


def test_a_closure_routed_to_a_named_senior_is_theirs_alone(team) -> None:
    a = web_seed.najin_dunay()  # critical: a false positive needs a second senior
    page = post(
        team["sam"],
        f"/alerts/{a}/close",
        resolution="false_positive",
        note="humanitarian cargo",
        approver="tina",
    ).text
    assert "Closure requested: tina must approve it." in page
    assert status(a) == "pending_approval"
    # Uma is another senior, but the request names Tina: refused, and no button for her.
    assert "Approve closure" not in team["uma"].get(f"/alerts/{a}").text
    refused = post(team["uma"], f"/alerts/{a}/approval", decision="approve").text
    assert "routed to tina" in refused and status(a) == "pending_approval"
    assert (
        "cannot approve or reject"
        in post(team["sam"], f"/alerts/{a}/approval", decision="approve").text
    )
    # Tina's inbox holds it; the pool does not.
    inbox = team["tina"].get("/approvals").text
    mine = inbox.split("Routed to you (")[1].split("Pool: any senior officer")[0]
    assert f'href="/alerts/{a}"' in mine
    assert f'href="/alerts/{a}"' in team["uma"].get("/approvals/seniors/tina").text
    assert "Approve closure" in team["tina"].get(f"/alerts/{a}").text
    post(team["tina"], f"/alerts/{a}/approval", decision="approve", note="agreed")
    assert status(a) == "closed"
    assert audit("route_approval") == [("sam", str(a), "asked tina")]
    with session_scope() as s:
        (route,) = s.scalars(select(ApprovalRouteRow))
        assert (route.decided_by, route.pooled_at) == ("tina", None)
    assert f'href="/alerts/{a}"' not in team["tina"].get("/approvals").text


def test_nobody_routes_to_themselves_or_to_a_non_senior(team) -> None:
    a = web_seed.najin_dunay()
    for approver, message in (
        ("sam", "cannot route your own request to yourself"),
        ("olga", "is not an active senior officer"),
        ("nobody", "is not an active senior officer"),
    ):
        page = post(
            team["sam"],
            f"/alerts/{a}/close",
            resolution="false_positive",
            note="x",
            approver=approver,
        ).text
        assert message in page, approver
        assert status(a) == "open"  # nothing was requested


def test_an_away_senior_falls_back_to_the_pool_visibly(team) -> None:
    a = web_seed.najin_dunay()
    post(team["olga"], f"/alerts/{a}/close", resolution="false_positive", note="x", approver="tina")
    # A senior cannot mark a colleague away; an officer cannot mark anyone.
    assert (
        team["sam"]
        .post(
            "/approvals/away",
            data={"csrf_token": team["sam"].token, "username": "tina", "away": "1"},
        )
        .status_code
        == 403
    )
    assert (
        team["olga"]
        .post("/approvals/away", data={"csrf_token": team["olga"].token, "away": "1"})
        .status_code
        == 403
    )
    page = post(team["tina"], "/approvals/away", away="1", note="leave until Monday").text
    assert "tina is away" in page
    assert audit("mark_away") == [("tina", "tina", "leave until Monday")]
    assert audit("approval_to_pool") == [
        ("approval routing", str(a), "tina is away: any senior officer but olga may decide")
    ]
    # The pool shows where it came from; the alert page says who may decide now.
    pool = team["uma"].get("/approvals").text.split("Pool: any senior officer")[1]
    assert f'href="/alerts/{a}"' in pool and "fell back" in pool and "tina is away" in pool
    detail = team["uma"].get(f"/alerts/{a}").text
    assert "any senior officer but olga (the pool)" in detail and "Approve closure" in detail
    post(team["uma"], f"/alerts/{a}/approval", decision="approve")
    assert status(a) == "closed"
    # The pool fall-back shows in the alert's history.
    history = team["olga"].get(f"/alerts/{a}").text.split('class="history"')[1]
    assert "approval to pool" in history and "tina is away: any senior officer" in history


def test_a_request_to_an_away_senior_goes_to_the_pool_at_once(team) -> None:
    post(team["admin"], "/approvals/away", username="tina", away="1")
    assert audit("mark_away") == [("root", "tina", None)]
    a = web_seed.najin_dunay()
    close_form = team["sam"].get(f"/alerts/{a}").text
    assert "tina (away: goes to the pool)" in close_form
    post(team["sam"], f"/alerts/{a}/close", resolution="false_positive", note="x", approver="tina")
    assert [r[2] for r in audit("approval_to_pool")] == [
        "tina is away: any senior officer but sam may decide"
    ]
    post(team["uma"], f"/alerts/{a}/approval", decision="approve")
    assert status(a) == "closed"
    post(team["admin"], "/approvals/away", username="tina", away="0")
    assert audit("mark_back") == [("root", "tina", None)]
    b = web_seed.store(web_seed.shipment("route-2"), [web_seed.DPRK_ARMS])[0]
    post(team["sam"], f"/alerts/{b}/close", resolution="false_positive", note="x", approver="tina")
    assert "routed to tina" in post(team["uma"], f"/alerts/{b}/approval", decision="approve").text


def test_an_unanswered_request_falls_back_after_the_configured_time(team, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_APPROVAL_FALLBACK_HOURS", "2")
    a = web_seed.najin_dunay()
    post(team["sam"], f"/alerts/{a}/close", resolution="false_positive", note="x", approver="tina")
    with session_scope() as s:  # an hour on: still Tina's
        s.execute(
            update(ApprovalRouteRow).values(requested_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert "routed to tina" in post(team["uma"], f"/alerts/{a}/approval", decision="approve").text
    with session_scope() as s:  # three hours on: the pool's
        s.execute(
            update(ApprovalRouteRow).values(requested_at=datetime.now(UTC) - timedelta(hours=3))
        )
    page = team["uma"].get("/approvals").text
    assert "1 request(s) just fell back to the pool." in page
    assert [r[2] for r in audit("approval_to_pool")] == [
        "tina did not answer within 2 h: any senior officer but sam may decide"
    ]
    assert "just fell back" not in team["uma"].get("/approvals").text  # moved once
    assert "Approve closure" in team["uma"].get(f"/alerts/{a}").text
    # the requester still cannot take it from the pool
    assert (
        "cannot approve or reject"
        in post(team["sam"], f"/alerts/{a}/approval", decision="approve").text
    )
    post(team["uma"], f"/alerts/{a}/approval", decision="approve")
    assert status(a) == "closed"


def test_the_alert_page_itself_moves_an_overdue_request_to_the_pool(team, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_APPROVAL_FALLBACK_HOURS", "2")
    a = web_seed.najin_dunay()
    post(team["sam"], f"/alerts/{a}/close", resolution="false_positive", note="x", approver="tina")
    assert "Approve closure" not in team["uma"].get(f"/alerts/{a}").text
    with session_scope() as s:
        s.execute(
            update(ApprovalRouteRow).values(requested_at=datetime.now(UTC) - timedelta(hours=3))
        )
    page = team["uma"].get(f"/alerts/{a}").text
    assert "Approve closure" in page and "any senior officer but sam (the pool)" in page
    assert len(audit("approval_to_pool")) == 1


def test_a_case_closure_is_routed_for_each_critical_alert(team) -> None:
    from engine.cases.actions import case_of_alert

    a = web_seed.najin_dunay()
    with session_scope() as s:
        case_id = case_of_alert(s, a)
    page = post(
        team["olga"],
        f"/cases/{case_id}/close",
        resolution="false_positive",
        note="x",
        approver="uma",
    ).text
    assert "wait for uma to approve" in page
    assert "routed to uma" in post(team["tina"], f"/alerts/{a}/approval", decision="approve").text
    post(team["uma"], f"/alerts/{a}/approval", decision="approve")
    assert status(a) == "closed"


def test_an_allowlist_entry_routed_to_a_senior_and_its_fall_back(team) -> None:
    page = post(
        team["sam"],
        "/allowlist",
        list_reference="KPe.047",
        party_name="Dunay Logistics LLC",
        country="RU",
        reason="unrelated company",
        expires_on="2099-01-01",
        approver="tina",
    ).text
    assert "tina must approve it" in page
    (entry,) = store.entries()
    shown = team["uma"].get(f"/allowlist/{entry.id}").text
    assert f"/allowlist/{entry.id}/approve" not in shown and "<dd>tina</dd>" in shown
    assert "routed to tina" in post(team["uma"], f"/allowlist/{entry.id}/approve").text
    assert store.get(entry.id).status == "pending"  # type: ignore[union-attr]
    post(team["tina"], "/approvals/away", away="1")
    assert [(r[1], r[2]) for r in audit("approval_to_pool")] == [
        (str(entry.id), "tina is away: any senior officer but sam may decide")
    ]
    assert "cannot approve" in post(team["sam"], f"/allowlist/{entry.id}/approve").text
    post(team["uma"], f"/allowlist/{entry.id}/approve")
    assert store.get(entry.id).approved_by == "uma"  # type: ignore[union-attr]


def test_without_a_name_any_other_senior_decides_as_before(team) -> None:
    a = web_seed.najin_dunay()
    post(team["sam"], f"/alerts/{a}/close", resolution="false_positive", note="x")
    pool = team["uma"].get("/approvals").text.split("Pool: any senior officer")[1]
    assert f'href="/alerts/{a}"' in pool
    assert audit("route_approval") == []
    post(team["uma"], f"/alerts/{a}/approval", decision="approve")
    assert status(a) == "closed"


def test_one_way_in_to_the_approvals_and_from_there_to_the_waiting_alerts(team) -> None:
    """The main navigation has one entry for four-eyes work (the routing page); the alert
    queue's filter of the alerts waiting for a closure approval is linked from it."""
    a = web_seed.najin_dunay()
    post(team["sam"], f"/alerts/{a}/close", resolution="false_positive", note="humanitarian")
    page = team["tina"].get("/approvals").text
    nav = page.split('<nav aria-label="main">')[1].split("</nav>")[0]
    assert nav.count('href="/approvals"') == 1 and "pending_approval" not in nav
    link = re.search(r'href="(/alerts/?\?[^"]*status=pending_approval[^"]*)"', page)
    assert link is not None, "no link to the waiting alerts"
    queue = team["tina"].get(link.group(1).replace("&amp;", "&")).text
    assert f'href="/alerts/{a}"' in queue

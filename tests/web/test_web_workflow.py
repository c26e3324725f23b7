"""Alert lifecycle through the web routes: states, assignment, notes, four eyes, reopen, bulk,
and the audit trail each action leaves (before/after, never deleted)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial

import pytest
import web_seed
from sqlalchemy import func, select
from web_support import desk_app, logged_in, post_form


@pytest.fixture
def app(db):
    return desk_app()


@pytest.fixture
def as_role(app, login_as):
    """A logged-in client for (role, username) plus its CSRF token."""
    return partial(logged_in, app, login_as)


post = post_form


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alert(alert_id: int):
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow

    with session_scope() as s:
        return s.get(AlertRow, alert_id)


def history(alert_id: int) -> list[tuple[str, str, dict | None, dict | None]]:
    from engine.storage.db import session_scope
    from web.desk.audit import alert_history

    with session_scope() as s:
        return [(h.actor, h.action, h.before, h.after) for h in alert_history(s, alert_id)]


def test_review_escalate_close_with_audit(as_role) -> None:
    a = web_seed.store(
        web_seed.shipment("wf-1"), [web_seed.violation("dprk-coal", severity="high")]
    )[0]
    officer = as_role("officer", "olga")
    post(officer, f"/alerts/{a}/assign", to="me")
    assert alert(a).assignee == "olga" and alert(a).status == "open"
    post(officer, f"/alerts/{a}/review")
    assert alert(a).status == "in_review"
    post(officer, f"/alerts/{a}/notes", kind="comment", body="checked the B/L")
    post(officer, f"/alerts/{a}/notes", kind="evidence", body="AIS track shows a Najin call")
    post(officer, f"/alerts/{a}/escalate", note="needs a senior view")
    assert alert(a).status == "escalated"
    # An officer cannot close an escalated alert; a senior officer can.
    post(officer, f"/alerts/{a}/close", resolution="true_positive", note="confirmed")
    assert alert(a).status == "escalated"
    senior = as_role("senior_officer", "sam")
    post(senior, f"/alerts/{a}/close", resolution="true_positive", note="confirmed breach")
    row = alert(a)
    assert (row.status, row.resolution) == ("closed", "true_positive") and row.closed_at is not None
    actions = [(actor, action) for actor, action, _, _ in history(a)]
    assert actions == [
        ("olga", "assign"),
        ("olga", "start_review"),
        ("olga", "comment"),
        ("olga", "evidence"),
        ("olga", "escalate"),
        ("sam", "close"),
    ]
    last = history(a)[-1]
    after = dict(last[3] or {})
    closed = datetime.fromisoformat(after.pop("closed_at"))
    assert last[2]["status"] == "escalated" and after == {
        "status": "closed",
        "resolution": "true_positive",
        "assignee": "olga",
    }
    assert _utc(closed) == _utc(row.closed_at)  # the closure time the row holds
    html = officer.get(f"/alerts/{a}").get_data(as_text=True)
    assert "AIS track shows a Najin call" in html and "confirmed breach" in html


def test_reopen_keeps_history(as_role) -> None:
    a = web_seed.store(web_seed.shipment("wf-2"), [web_seed.violation("dprk-coal")])[0]
    officer = as_role("officer")
    post(officer, f"/alerts/{a}/close", resolution="duplicate", note="same as 41")
    assert alert(a).status == "closed"
    post(officer, f"/alerts/{a}/reopen", note="not the same consignee")
    row = alert(a)
    assert (row.status, row.resolution, row.closed_at) == ("in_review", None, None)
    assert [h[1] for h in history(a)] == ["close", "reopen"]


def test_four_eyes_on_critical_false_positive(as_role) -> None:
    a = web_seed.najin_dunay()  # critical
    first = as_role("senior_officer", "sam")
    post(first, f"/alerts/{a}/close", resolution="false_positive", note="cargo was humanitarian")
    assert (alert(a).status, alert(a).resolution) == ("pending_approval", "false_positive")
    # The first reviewer cannot approve their own closure, an officer cannot approve at all.
    post(first, f"/alerts/{a}/approval", decision="approve")
    assert alert(a).status == "pending_approval"
    officer = as_role("officer", "olga")
    assert post(officer, f"/alerts/{a}/approval", decision="approve").status_code == 403
    html = first.get(f"/alerts/{a}").get_data(as_text=True)
    assert "Approve closure" not in html and "requested by sam" in html
    second = as_role("senior_officer", "tina")
    assert "Approve closure" in second.get(f"/alerts/{a}").get_data(as_text=True)
    post(second, f"/alerts/{a}/approval", decision="approve", note="agreed")
    row = alert(a)
    assert (row.status, row.resolution) == (
        "closed",
        "false_positive",
    ) and row.closed_at is not None
    assert [(h[0], h[1]) for h in history(a)] == [
        ("sam", "request_closure"),
        ("tina", "approve_closure"),
    ]


def test_rejected_closure_returns_to_previous_state(as_role) -> None:
    a = web_seed.najin_dunay()
    officer = as_role("officer", "olga")
    post(officer, f"/alerts/{a}/review")
    post(officer, f"/alerts/{a}/close", resolution="false_positive", note="looks fine")
    assert alert(a).status == "pending_approval"
    senior = as_role("senior_officer", "sam")
    post(senior, f"/alerts/{a}/approval", decision="reject")  # rejection needs a note
    assert alert(a).status == "pending_approval"
    post(senior, f"/alerts/{a}/approval", decision="reject", note="HS 9306 is ammunition")
    assert (alert(a).status, alert(a).resolution) == ("in_review", None)


def test_critical_true_positive_and_non_critical_false_positive_close_at_once(as_role) -> None:
    crit = web_seed.najin_dunay()
    high = web_seed.store(
        web_seed.shipment("wf-3"), [web_seed.violation("dprk-coal", severity="high")]
    )[0]
    officer = as_role("officer")
    post(officer, f"/alerts/{crit}/close", resolution="true_positive", note="breach")
    post(officer, f"/alerts/{high}/close", resolution="false_positive", note="not DPRK coal")
    assert alert(crit).status == "closed" and alert(high).status == "closed"


def test_refused_actions_change_nothing(as_role) -> None:
    a = web_seed.najin_dunay()
    officer = as_role("officer")
    post(officer, f"/alerts/{a}/close", resolution="true_positive", note="")  # no rationale
    post(officer, f"/alerts/{a}/close", resolution="maybe", note="x")  # no such resolution
    post(officer, f"/alerts/{a}/reopen", note="x")  # not closed
    post(officer, f"/alerts/{a}/assign", assignee="ghost")  # no such user
    resp = post(officer, f"/alerts/{a}/notes", kind="comment", body="   ")
    assert resp.status_code == 303
    assert alert(a).status == "open" and alert(a).assignee is None
    assert history(a) == []
    assert "needs a note" in officer.get(f"/alerts/{a}").get_data(as_text=True)


def test_auditor_sees_everything_and_changes_nothing(as_role) -> None:
    a = web_seed.najin_dunay()
    officer = as_role("officer")
    post(officer, f"/alerts/{a}/notes", kind="comment", body="first look")
    auditor = as_role("auditor")
    html = auditor.get(f"/alerts/{a}").get_data(as_text=True)
    assert "first look" in html and 'aria-label="actions"' not in html
    assert f"sanctions rules replay {web_seed.NAJIN_DUNAY['event_id']}" in html
    assert "sanctions rules replay" not in officer.get(f"/alerts/{a}").get_data(as_text=True)
    for path, data in (
        (f"/alerts/{a}/assign", {"to": "me"}),
        (f"/alerts/{a}/escalate", {"note": "x"}),
        (f"/alerts/{a}/notes", {"body": "x"}),
        ("/alerts/bulk", {"action": "assign", "alert_id": str(a)}),
    ):
        assert post(auditor, path, **data).status_code == 403
    assert len(history(a)) == 1
    assert "first look" in auditor.get("/audit").get_data(as_text=True)


def test_bulk_assign_and_close_duplicate_with_confirmation(as_role, login_as, app) -> None:
    coal = [
        web_seed.store(web_seed.shipment(f"b-{i}"), [web_seed.violation("dprk-coal")])[0]
        for i in range(3)
    ]
    other = web_seed.store(
        web_seed.shipment("b-x"), [web_seed.violation("iran-arms", regime="Iran")]
    )[0]
    officer = as_role("officer", "olga")
    as_role("senior_officer", "sam")
    page = officer.get("/alerts/bulk?rule_id=dprk-coal&action=assign&assign_to=sam").get_data(
        as_text=True
    )
    assert "Assign these <b>3</b>" in page and f'value="{other}"' not in page
    # The confirmation step changed nothing yet.
    assert all(alert(i).assignee is None for i in coal)
    posted = re.findall(r'name="alert_id" value="(\d+)"', page)
    assert sorted(map(int, posted)) == sorted(coal)
    resp = officer.post(
        "/alerts/bulk",
        data={
            "csrf_token": officer.token,
            "action": "assign",
            "assign_to": "sam",
            "alert_id": posted,
            "rule_id": "dprk-coal",
        },
    )
    assert resp.status_code == 302 and "rule_id=dprk-coal" in resp.headers["Location"]
    assert all(alert(i).assignee == "sam" for i in coal) and alert(other).assignee is None
    # Close as duplicate: an escalated one is refused for an officer, the rest close.
    post(officer, f"/alerts/{coal[0]}/escalate", note="unsure")
    page = officer.get("/alerts/bulk?rule_id=dprk-coal&action=close_duplicate").get_data(
        as_text=True
    )
    posted = re.findall(r'name="alert_id" value="(\d+)"', page)
    officer.post(
        "/alerts/bulk",
        data={
            "csrf_token": officer.token,
            "action": "close_duplicate",
            "note": "same B/L as #1",
            "alert_id": posted,
        },
    )
    assert alert(coal[0]).status == "escalated"
    assert [alert(i).resolution for i in coal[1:]] == ["duplicate", "duplicate"]
    assert [h[1] for h in history(coal[1])] == ["assign", "close"]


def test_audit_rows_are_never_deleted_by_actions(as_role) -> None:
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import AuditRow

    a = web_seed.najin_dunay()
    officer = as_role("officer")
    counts = []
    for url, data in (
        (f"/alerts/{a}/assign", {"to": "me"}),
        (f"/alerts/{a}/review", {}),
        # (not duplicate: a critical duplicate waits for a second senior officer, issue 14)
        (f"/alerts/{a}/close", {"resolution": "true_positive", "note": "confirmed"}),
        (f"/alerts/{a}/reopen", {"note": "not confirmed"}),
    ):
        post(officer, url, **data)
        with session_scope() as s:
            counts.append(
                s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.alert_id == a))
            )
    assert counts == [1, 2, 3, 4]


def test_a_change_made_meanwhile_wins_and_the_stale_action_is_refused(db) -> None:
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow
    from web.desk.workflow import Actor, WorkflowError, _change, run

    a = web_seed.najin_dunay()
    first, second = Actor("olga", "officer"), Actor("sam", "senior_officer")
    with pytest.raises(WorkflowError, match="someone else changed"), session_scope() as s:
        stale = s.get(AlertRow, a)  # what the first reviewer saw: open
        run(
            a, second, "close", resolution="true_positive", note="closed first"
        )  # commits meanwhile
        _change(s, stale, first, "close", "closed second", status="closed", resolution="duplicate")
    row = alert(a)
    assert (row.status, row.resolution) == ("closed", "true_positive")
    assert [(h[0], h[1]) for h in history(a)] == [("sam", "close")]

"""An alert's desk state and an API key's revocation in the journal: what the desk does through
its routes (one alert, bulk, four eyes, case close, snoozes, key creation and revocation)
verifies; a field edited directly in the database is named with the record and the field."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import web_seed
from audit_support import sql_exec, sql_scalar
from sqlalchemy import text, update
from web_support import desk_app, logged_in, post_form

from engine.audit.checks import verify
from engine.audit.sequencer import write_head
from engine.audit.signing import generate_key, public_key
from engine.storage.db import get_engine

post = post_form


def _alert(
    event_id: str, severity: str = "high", rules: tuple[str, ...] = ("r-1",), imo: str = ""
) -> list[int]:
    raw = web_seed.shipment(event_id, consignee=f"Co {event_id}")
    if imo:
        raw["shipment"]["vessel"]["imo"] = imo
    return web_seed.store(raw, [web_seed.violation(r, severity=severity) for r in rules])


def _done(response: Any) -> None:
    # every desk route answers with a redirect; a refused action flashes an error instead
    assert response.status_code in (201, 302, 303), response.status_code


@pytest.fixture
def desk(db: None, login_as: Any, tmp_path: Path) -> dict[str, Any]:
    from engine.snoozes import store as snoozes
    from engine.snoozes.facts import subject_keys
    from engine.storage.db import session_scope
    from engine.storage.tables import AlertRow, EventRow

    key = tmp_path / "audit.key"
    generate_key(key)
    app = desk_app()
    as_role = partial(logged_in, app, login_as)
    olga = as_role("officer", "olga")
    sam = as_role("senior_officer", "sam")
    sue = as_role("senior_officer", "sue")
    ids: dict[str, int] = {}

    # one alert through review, escalation and a senior's closure
    (a,) = _alert("ds-1")
    _done(post(olga, f"/alerts/{a}/assign", to="me"))
    _done(post(olga, f"/alerts/{a}/review"))
    _done(post(olga, f"/alerts/{a}/notes", kind="comment", body="checked the B/L"))
    _done(post(olga, f"/alerts/{a}/escalate", note="needs a senior view"))
    _done(post(sam, f"/alerts/{a}/close", resolution="true_positive", note="confirmed"))
    ids["closed"] = a
    # four eyes: a critical false positive asked for, approved by another senior
    (a,) = _alert("ds-2", "critical")
    _done(post(sam, f"/alerts/{a}/close", resolution="false_positive", note="humanitarian"))
    _done(post(sue, f"/alerts/{a}/approval", decision="approve", note="agreed"))
    ids["approved"] = a
    # ... and one rejected: back to in review
    (a,) = _alert("ds-3", "critical")
    _done(post(olga, f"/alerts/{a}/review"))
    _done(post(olga, f"/alerts/{a}/close", resolution="false_positive", note="looks fine"))
    _done(post(sam, f"/alerts/{a}/approval", decision="reject", note="HS 9306 is ammunition"))
    ids["rejected"] = a
    for name in ("approved", "rejected"):
        ids[f"{name}_request"] = sql_scalar(
            "SELECT id FROM closure_approvals WHERE alert_id = :a", a=ids[name]
        )
    # closed and reopened
    (a,) = _alert("ds-4")
    _done(post(olga, f"/alerts/{a}/close", resolution="duplicate", note="same as ds-1"))
    _done(post(olga, f"/alerts/{a}/reopen", note="another consignee"))
    ids["reopened"] = a
    # bulk: two assigned, one of them then closed as a duplicate
    bulk = [*_alert("ds-5"), *_alert("ds-6")]
    _done(post(olga, "/alerts/bulk", action="assign", assign_to="olga", alert_id=bulk))
    _done(post(olga, "/alerts/bulk", action="close_duplicate", note="repeat", alert_id=bulk[1:]))
    ids["bulk_assigned"], ids["bulk_closed"] = bulk
    # a case of two alerts closed from the case page
    pair = _alert("ds-7", rules=("r-1", "r-2"))
    case = sql_scalar("SELECT case_id FROM case_alerts WHERE alert_id = :a", a=pair[0])
    assert sql_scalar("SELECT case_id FROM case_alerts WHERE alert_id = :a", a=pair[1]) == case
    _done(post(sam, f"/cases/{case}/close", resolution="true_positive", note="both breaches"))
    ids["case_closed"] = pair[1]
    # opened only: a note and a snooze of its repeats (a snooze's audit row names the alert and
    # carries the snooze's own status, not the alert's)
    (a,) = _alert("ds-8", imo="9179842")
    _done(post(olga, f"/alerts/{a}/notes", kind="evidence", body="AIS gap"))
    with session_scope() as s:
        row = s.get(AlertRow, a)
        assert row is not None
        raw = s.query(EventRow.raw).filter(EventRow.event_id == row.event_id).scalar()
        assert "imo:9179842" in subject_keys(raw, row.violation)
    snoozes.create(alert_id=a, key="imo:9179842", days=7, reason="known repeat", actor="sam")
    ids["opened"] = a

    # API keys: two created at the admin page, one used, one revoked
    ada = as_role("admin", "ada", page="/admin/apikeys")
    keys = []
    for name in ("erp", "tms"):
        resp = post(ada, "/admin/apikeys", name=name, scopes=["events:read"])
        _done(resp)
        keys.append(re.search(r"(sk_[A-Za-z0-9_\-]+)", resp.get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    ids["key_active"] = sql_scalar("SELECT id FROM api_keys WHERE name = 'erp'")
    ids["key_revoked"] = sql_scalar("SELECT id FROM api_keys WHERE name = 'tms'")
    client = app.test_client()
    assert client.get("/api/v1/events/none", headers={"X-API-Key": keys[0]}).status_code == 404
    _done(post(ada, f"/admin/apikeys/{ids['key_revoked']}/revoke"))
    assert client.get("/api/v1/events/none", headers={"X-API-Key": keys[1]}).status_code == 401

    write_head(key)
    return {"key": key, **ids}


def _problems(desk: dict[str, Any]) -> list[str]:
    return [str(p) for p in verify(public_key=public_key(desk["key"])).problems]


def _state(alert_id: int) -> tuple[Any, ...]:
    with get_engine().connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT status, resolution, assignee, closed_at IS NOT NULL FROM alerts"
                     " WHERE id = :a"),
                {"a": alert_id},
            ).one()
        )  # fmt: skip


def test_desk_actions_verify(desk: dict[str, Any]) -> None:
    # the fixture's actions all took effect (a refused one would leave nothing to check)
    assert _state(desk["closed"]) == ("closed", "true_positive", "olga", True)
    assert _state(desk["approved"]) == ("closed", "false_positive", None, True)
    assert _state(desk["rejected"]) == ("in_review", None, "olga", False)
    assert _state(desk["reopened"]) == ("in_review", None, None, False)
    assert _state(desk["bulk_assigned"]) == ("open", None, "olga", False)
    assert _state(desk["bulk_closed"]) == ("closed", "duplicate", "olga", True)
    assert _state(desk["case_closed"]) == ("closed", "true_positive", None, True)
    assert _state(desk["opened"]) == ("open", None, None, False)
    assert (
        sql_scalar("SELECT revoked_by FROM api_keys WHERE id = :k", k=desk["key_revoked"]) == "ada"
    )
    assert sql_scalar("SELECT revoked_at FROM api_keys WHERE id = :k", k=desk["key_active"]) is None
    assert _problems(desk) == []


@pytest.mark.parametrize(
    ("kind", "target", "stmt", "named"),
    [
        ("alerts", "closed", "UPDATE alerts SET status = 'open' WHERE id = :id",
         "status is 'open', journaled 'closed'"),
        ("alerts", "closed", "UPDATE alerts SET resolution = 'false_positive' WHERE id = :id",
         "resolution is 'false_positive', journaled 'true_positive'"),
        ("alerts", "closed", "UPDATE alerts SET assignee = 'mallory' WHERE id = :id",
         "assignee is 'mallory', journaled 'olga'"),
        ("alerts", "closed", "UPDATE alerts SET closed_at = NULL WHERE id = :id",
         "closed_at is None, journaled '20"),
        ("alerts", "approved", "UPDATE alerts SET closed_at = '2020-01-02 00:00:00' WHERE id = :id",
         "closed_at is '2020-01-0"),
        ("alerts", "rejected", "UPDATE alerts SET status = 'escalated' WHERE id = :id",
         "status is 'escalated', journaled 'in_review'"),
        ("alerts", "reopened", "UPDATE alerts SET resolution = 'duplicate' WHERE id = :id",
         "resolution is 'duplicate', journaled None"),
        ("alerts", "bulk_assigned", "UPDATE alerts SET assignee = NULL WHERE id = :id",
         "assignee is None, journaled 'olga'"),
        ("alerts", "case_closed", "UPDATE alerts SET status = 'in_review' WHERE id = :id",
         "status is 'in_review', journaled 'closed'"),
        # an alert nobody acted on is held to the state it was opened in
        ("alerts", "opened", "UPDATE alerts SET status = 'closed' WHERE id = :id",
         "status is 'closed', journaled 'open'"),
        ("alerts", "opened", "UPDATE alerts SET assignee = 'olga' WHERE id = :id",
         "assignee is 'olga', journaled None"),
        ("api_keys", "key_revoked",
         "UPDATE api_keys SET revoked_at = NULL, revoked_by = NULL WHERE id = :id",
         "revoked is False, journaled True"),
        ("api_keys", "key_active",
         "UPDATE api_keys SET revoked_at = '2020-01-02 00:00:00', revoked_by = 'ada' WHERE id = :id",
         "revoked is True, journaled False"),
        ("api_keys", "key_revoked", "UPDATE api_keys SET revoked_by = 'mallory' WHERE id = :id",
         "revoked_by is 'mallory', journaled 'ada'"),
        ("api_keys", "key_revoked",
         "UPDATE api_keys SET revoked_at = '2020-01-02 00:00:00' WHERE id = :id",
         "revoked_at is '2020-01-0"),
        # a four-eyes decision is the alert's journaled approve / reject action
        ("closure_approvals", "approved_request",
         "UPDATE closure_approvals SET decided_by = 'mallory' WHERE id = :id",
         "approved by 'mallory', journaled approved by 'sue'"),
        ("closure_approvals", "rejected_request",
         "UPDATE closure_approvals SET decision = 'approved' WHERE id = :id",
         "approved by 'sam', journaled rejected by 'sam'"),
        ("closure_approvals", "approved_request",
         "UPDATE closure_approvals SET decision = NULL, decided_by = NULL WHERE id = :id",
         "undecided, journaled approved by 'sue'"),
    ],
)  # fmt: skip
def test_a_field_edited_in_the_database_is_named(
    desk: dict[str, Any], kind: str, target: str, stmt: str, named: str
) -> None:
    sql_exec(stmt, id=desk[target])
    problems = _problems(desk)
    assert len(problems) == 1, problems
    assert f"({kind} {desk[target]}): " in problems[0] and named in problems[0], problems[0]
    assert "changed outside the application" in problems[0]


def test_an_action_recorded_before_closed_at_was_leaves_only_the_closure_time_unheld(
    db: None, tmp_path: Path
) -> None:
    """A review action written by an older desk (its after has no closed_at): status, resolution
    and assignee are still held; the closure time is held again from the alert's next action."""
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import AuditRow
    from web.desk.workflow import Actor, close

    key = tmp_path / "audit.key"
    generate_key(key)
    (a,) = _alert("old-1")
    with session_scope() as s:
        close(s, a, Actor("olga", "officer"), "true_positive", "confirmed")
    log = AuditRow.__table__
    with get_engine().begin() as conn:  # before it is journaled, as an older desk wrote it
        after = conn.execute(text("SELECT id FROM audit_log WHERE alert_id = :a"), {"a": a}).one()
        conn.execute(
            update(log)
            .where(log.c.id == after[0])
            .values(after={"status": "closed", "resolution": "true_positive", "assignee": None})
        )
    write_head(key)
    pub = public_key(key)
    sql_exec("UPDATE alerts SET closed_at = '2020-01-02 00:00:00' WHERE id = :id", id=a)
    assert [str(p) for p in verify(public_key=pub).problems] == []
    sql_exec("UPDATE alerts SET status = 'open' WHERE id = :id", id=a)
    (problem,) = [str(p) for p in verify(public_key=pub).problems]
    assert f"(alerts {a}): " in problem and "status is 'open', journaled 'closed'" in problem


def test_a_key_or_alert_with_no_history_is_not_held_to_one(db: None, tmp_path: Path) -> None:
    """A key inserted directly (no api_key.create action) is not held; an alert always is, from
    the state every alert is opened in."""
    from engine.storage.db import session_scope
    from engine.storage.desk_tables import ApiKeyRow

    key = tmp_path / "audit.key"
    generate_key(key)
    with session_scope() as s:
        row = ApiKeyRow(name="seeded", prefix="seed", key_hash="e" * 64, scopes=["events:read"],
                        created_by="seed")  # fmt: skip
        s.add(row)
        s.flush()
        kid = row.id
    (a,) = _alert("seed-1")
    write_head(key)
    pub = public_key(key)
    sql_exec("UPDATE api_keys SET revoked_at = '2020-01-02 00:00:00' WHERE id = :id", id=kid)
    assert [str(p) for p in verify(public_key=pub).problems] == []
    sql_exec("UPDATE alerts SET resolution = 'duplicate' WHERE id = :id", id=a)
    (problem,) = [str(p) for p in verify(public_key=pub).problems]
    assert f"(alerts {a}): " in problem and "resolution is 'duplicate', journaled None" in problem


def test_a_period_verify_holds_the_rows_journaled_in_it(db: None) -> None:
    """``audit verify --from/--to`` runs the state checks of the records sequenced in the
    period: an alert journaled before it is not reported, one journaled in it is."""
    from datetime import UTC, datetime, timedelta

    from engine.audit.sequencer import sequence_all

    (early,) = _alert("period-1")
    sequence_all()
    between = datetime.now(UTC)
    (late,) = _alert("period-2")
    sequence_all()
    after = datetime.now(UTC) + timedelta(seconds=1)
    sql_exec("UPDATE alerts SET status = 'closed' WHERE id IN (:a, :b)", a=early, b=late)

    def named(**period: datetime) -> list[str]:
        return [p.key or "" for p in verify(**period).problems if p.kind == "alerts"]

    assert named() == [str(early), str(late)]
    assert named(since=between, until=after) == [str(late)]
    assert named(until=between) == [str(early)]
    assert named(since=after) == []  # no entry in the period: nothing to hold


@pytest.mark.parametrize(
    ("stmt", "kind"),
    [
        ("UPDATE closure_approvals SET requested_by = 'mallory' WHERE alert_id = :a",
         "closure_approvals"),
        ("UPDATE closure_approvals SET resolution = 'duplicate' WHERE alert_id = :a",
         "closure_approvals"),
        ("UPDATE approval_routes SET requested_by = 'mallory' WHERE alert_id = :a",
         "approval_routes"),
        ("DELETE FROM approval_routes WHERE alert_id = :a", "approval_routes"),
    ],
)  # fmt: skip
def test_a_four_eyes_request_edited_or_deleted_is_named(
    desk: dict[str, Any], stmt: str, kind: str
) -> None:
    """What a four-eyes request asked for, and its route, are journaled as they were opened."""
    sql_exec(stmt, a=desk["approved"])
    problems = _problems(desk)
    assert len(problems) == 1, problems
    assert f"({kind} " in problems[0], problems[0]
    assert "record altered" in problems[0] or "record deleted" in problems[0], problems[0]

"""Approvals requested and SLA breaches become notifications in the transaction that caused
them; e-mail goes through a real SMTP server (aiosmtpd) to the routed recipients; the dispatcher
thread delivers without being called."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import web_seed
from notify_support import smtp_server, webhook_receiver
from sqlalchemy import func, select, update

from engine.cases.tables import CaseAlertRow, CaseRow
from engine.notify import endpoints, routing
from engine.notify.dispatch import (
    deliver_due,
    fan_out,
    start_background_dispatcher,
    stop_background_dispatcher,
)
from engine.notify.settings import NotifySettings
from engine.notify.sla import detect_breaches
from engine.notify.tables import CaseSlaBreachRow, DeliveryRow, NotificationRow
from engine.storage.db import get_engine, session_scope
from web.auth.accounts import create_user
from web.desk.workflow import Actor, WorkflowError, close


def _notifications(event_type: str | None = None) -> list[NotificationRow]:
    with session_scope() as s:
        q = select(NotificationRow).order_by(NotificationRow.id)
        if event_type:
            q = q.where(NotificationRow.event_type == event_type)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def _case_of(alert_id: int) -> int:
    with session_scope() as s:
        return int(s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id)))


def test_a_critical_closure_request_is_told_once_and_a_refused_one_not_at_all(db) -> None:
    create_user("olga", "test-password-1", "officer", actor="pytest")
    alert_id = web_seed.najin_dunay()
    before = len(_notifications())
    officer = Actor("olga", "officer")
    with session_scope() as s, pytest.raises(WorkflowError):
        close(s, alert_id, officer, "false_positive", "")  # no rationale: refused, rolled back
    assert len(_notifications()) == before
    with session_scope() as s:
        close(s, alert_id, officer, "false_positive", "same name, other company")
    (n,) = _notifications("approval.requested")
    assert n.data["approval"]["kind"] == "closure"
    assert n.data["approval"]["requested_by"] == "olga"
    assert n.data["approval"]["resolution"] == "false_positive"
    assert n.data["alert"]["id"] == alert_id and n.data["alert"]["severity"] == "critical"
    assert n.data["case"]["id"] == _case_of(alert_id)


def test_an_allowlist_entry_waiting_for_approval_is_told(db) -> None:
    from engine.allowlist import store

    create_user("sam", "test-password-1", "senior_officer", actor="pytest")
    entry = store.add(
        list_reference="KPe.047",
        party_name="Dunay Logistics LLC",
        country="RU",
        reason="unrelated company",
        expires_on=date(2099, 1, 1),
        actor="sam",
    )
    (n,) = _notifications("approval.requested")
    assert n.data["approval"]["kind"] == "allowlist"
    assert n.data["approval"]["id"] == entry.id
    assert n.data["approval"]["list_reference"] == "KPe.047"
    assert n.data["approval"]["why"] == "record"


def test_an_overdue_case_is_told_once(db, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_SLA_HOURS", "high=2")
    raw = web_seed.shipment("sla-1")
    raw["shipment"]["vessel"] = {"name": "A", "imo": "9000021"}
    (late,) = web_seed.store(raw, [web_seed.violation("A", severity="high")])
    raw = web_seed.shipment("sla-2", consignee="Other Co")
    raw["shipment"]["vessel"] = {"name": "B", "imo": "9000022"}
    (fresh,) = web_seed.store(raw, [web_seed.violation("A", severity="high")])
    opened = datetime.now(UTC) - timedelta(hours=3)
    with session_scope() as s:
        s.execute(update(CaseRow).where(CaseRow.id == _case_of(late)).values(opened_at=opened))
    assert detect_breaches() == [_case_of(late)]
    assert detect_breaches() == []  # once per case
    # an hour later the other case is overdue too, and only it is told
    assert detect_breaches(now=datetime.now(UTC) + timedelta(hours=2, minutes=1)) == [
        _case_of(fresh)
    ]
    told = _notifications("case.sla_breached")
    assert [n.data["case"]["id"] for n in told] == [_case_of(late), _case_of(fresh)]
    assert told[0].data["sla_hours"] == 2
    due = datetime.fromisoformat(told[0].data["due_at"].replace("Z", "+00:00"))
    assert abs((due - (opened + timedelta(hours=2))).total_seconds()) < 1
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CaseSlaBreachRow)) == 2


def test_a_closed_case_is_not_overdue(db, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_SLA_HOURS", "high=1")
    (a,) = web_seed.store(web_seed.shipment("sla-c"), [web_seed.violation("A", severity="high")])
    with session_scope() as s:
        s.execute(update(CaseRow).where(CaseRow.id == _case_of(a)).values(status="closed"))
    assert detect_breaches(now=datetime.now(UTC) + timedelta(hours=5)) == []


def test_approval_mail_goes_to_the_senior_officers_but_not_the_requester(db, monkeypatch) -> None:
    for name, role in (("sam", "senior_officer"), ("sue", "senior_officer"), ("olga", "officer")):
        create_user(name, "test-password-1", role, actor="pytest")
    create_user("sid", "test-password-1", "senior_officer", actor="pytest")  # no address
    with get_engine().begin() as conn:
        routing.set_address(conn, "sam", "sam@desk.example", "admin")
        routing.set_address(conn, "sue", "sue@desk.example", "admin")
        routing.set_route(
            conn, "approval.requested", ["role:senior_officer", "compliance@desk.example"], "admin"
        )
    alert_id = web_seed.najin_dunay()
    with smtp_server() as box:
        settings = NotifySettings(  # type: ignore[call-arg]
            SANCTIONS_SMTP_HOST=box.host,
            SANCTIONS_SMTP_PORT=box.port,
            SANCTIONS_SMTP_FROM="desk@desk.example",
            SANCTIONS_PUBLIC_URL="https://desk.example",
        )
        with session_scope() as s:
            close(s, alert_id, Actor("sue", "senior_officer"), "false_positive", "other firm")
        assert fan_out(settings=settings) == 1  # no endpoint: the e-mail only
        attempts = deliver_due(settings=settings)
        assert [a.status for a in attempts] == ["delivered"]
        ((rcpt, msg),) = box.messages
    assert rcpt == ["sam@desk.example", "compliance@desk.example"]  # not sue, who asked
    assert msg["From"] == "desk@desk.example"
    assert msg["Subject"] == f"[Sanctions] Approval requested: close alert #{alert_id}"
    text = msg.get_payload(decode=True).decode()
    assert "sue asks to close the critical alert" in text
    assert f"https://desk.example/alerts/{alert_id}" in text
    with session_scope() as s:
        d = s.scalars(select(DeliveryRow)).one()
    assert msg["X-Sanctions-Delivery"] == d.uid and d.channel == "email"


def test_mail_to_a_server_that_is_down_is_retried(db) -> None:
    from notify_support import _free_port

    with get_engine().begin() as conn:
        routing.set_route(conn, "case.critical_opened", ["ops@desk.example"], "admin")
    settings = NotifySettings(  # type: ignore[call-arg]
        SANCTIONS_SMTP_HOST="127.0.0.1", SANCTIONS_SMTP_PORT=_free_port()
    )
    web_seed.najin_dunay()
    fan_out(settings=settings)
    (a,) = deliver_due(settings=settings)
    assert a.status == "pending" and a.outcome.error and "Connection" in a.outcome.error


def test_the_dispatcher_thread_delivers_by_itself(db, monkeypatch) -> None:
    monkeypatch.setenv("SANCTIONS_NOTIFY_BACKOFF_BASE", "0.01")
    with webhook_receiver(statuses=[500]) as rx:
        with get_engine().begin() as conn:
            endpoints.create(conn, rx.url, ["case.critical_opened"], "admin", secret="whsec_x")
        web_seed.najin_dunay()
        thread = start_background_dispatcher(interval=0.05)
        try:
            assert thread is not None
            assert rx.wait_for(2), "the dispatcher did not retry the 500"
        finally:
            stop_background_dispatcher()
            thread.join(timeout=10)
    assert [json.loads(r.body)["type"] for r in rx.requests] == ["case.critical_opened"] * 2
    with session_scope() as s:
        assert s.scalars(select(DeliveryRow)).one().status == "delivered"


def test_a_closure_routed_to_one_senior_mails_that_senior_only(db) -> None:
    for name, role in (("sam", "senior_officer"), ("sue", "senior_officer"), ("olga", "officer")):
        create_user(name, "test-password-1", role, actor="pytest")
    with get_engine().begin() as conn:
        routing.set_address(conn, "sam", "sam@desk.example", "admin")
        routing.set_address(conn, "sue", "sue@desk.example", "admin")
    alert_id = web_seed.najin_dunay()
    with session_scope() as s:
        close(s, alert_id, Actor("olga", "officer"), "false_positive", "other firm", approver="sue")
    (n,) = _notifications("approval.requested")
    assert n.data["approval"]["routed_to"] == "sue"
    with get_engine().connect() as conn:  # default route: role:senior_officer
        assert routing.recipients_for(conn, n.event_type, n.data) == ["sue@desk.example"]
        pooled = {**n.data, "approval": {**n.data["approval"], "routed_to": None}}
        assert routing.recipients_for(conn, n.event_type, pooled) == [
            "sam@desk.example",
            "sue@desk.example",
        ]


def test_an_amended_list_entry_reopens_the_allowlist_entry_and_tells_again(db) -> None:
    from engine.allowlist import store

    create_user("sam", "test-password-1", "senior_officer", actor="pytest")
    create_user("sue", "test-password-1", "senior_officer", actor="pytest")
    entry = store.add(
        list_reference="KPe.047",
        party_name="Dunay Logistics LLC",
        country="RU",
        reason="unrelated company",
        expires_on=date(2099, 1, 1),
        actor="sam",
    )
    store.approve(entry.id, "sue")
    assert store.reopen_amended(["KPe.047"]) == [entry.id]
    told = _notifications("approval.requested")
    assert [n.data["approval"]["why"] for n in told] == ["record", "reopen"]
    assert told[1].data["approval"]["requested_by"] == "sam"  # the recorder: not mailed


def test_endpoints_and_notifications_are_journaled(db) -> None:
    from engine.audit.sequencer import sequence_all
    from engine.audit.tables import JournalEntryRow

    with get_engine().begin() as conn:
        endpoint_id, _ = endpoints.create(
            conn, "https://example.org/hook", ["case.critical_opened"], "admin"
        )
    web_seed.najin_dunay()
    sequence_all()
    with session_scope() as s:
        kinds = {
            (e.kind, e.record_key)
            for e in s.scalars(
                select(JournalEntryRow).where(
                    JournalEntryRow.kind.in_(["webhook_endpoints", "notifications"])
                )
            )
        }
        (n,) = _notifications("case.critical_opened")
    assert kinds == {("webhook_endpoints", str(endpoint_id)), ("notifications", str(n.id))}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback test
@pytest.mark.parametrize("user", ["desk", None])
def test_smtp_login_from_the_settings(db, user: str | None) -> None:
    with get_engine().begin() as conn:
        routing.set_route(conn, "case.critical_opened", ["ops@desk.example"], "admin")
    web_seed.najin_dunay()
    with smtp_server(login=("desk", "right-password")) as box:
        settings = NotifySettings(  # type: ignore[call-arg]
            SANCTIONS_SMTP_HOST=box.host,
            SANCTIONS_SMTP_PORT=box.port,
            SANCTIONS_SMTP_USER=user,
            SANCTIONS_SMTP_PASSWORD="right-password",
        )
        fan_out(settings=settings)
        (a,) = deliver_due(settings=settings)
        got = len(box.messages)
    if user is not None:
        assert a.status == "delivered" and got == 1
    else:  # the server requires a login: without one the message is refused, and retried
        assert a.status == "pending" and got == 0
        assert a.outcome.status_code == 530

"""Admin pages of notifications: an admin adds a webhook endpoint (its secret shown once),
sees each delivery and attempt in the delivery log, redelivers, disables it, sends a test event;
sets e-mail recipients and users' addresses. The receiver is a real HTTP server."""

from __future__ import annotations

import json
import re

import pytest
import web_seed
from notify_support import webhook_receiver
from sqlalchemy import select
from web_support import desk_app, logged_in

from engine.notify.dispatch import deliver_due, fan_out
from engine.notify.settings import NotifySettings
from engine.notify.tables import (
    AttemptRow,
    DeliveryRow,
    EmailRouteRow,
    NotifyAddressRow,
    WebhookEndpointRow,
)
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow

FAST = NotifySettings(SANCTIONS_NOTIFY_BACKOFF_BASE=0.01)  # type: ignore[call-arg]


@pytest.fixture
def admin(db, login_as):
    return logged_in(desk_app(), login_as, "admin", page="/admin/webhooks")


def post_form(client, path: str, follow_redirects: bool = False, **data):
    # web_support.post_form names its path "url", which is also a form field here
    return client.post(
        path, data={"csrf_token": client.token, **data}, follow_redirects=follow_redirects
    )


def _dispatch() -> None:
    fan_out(settings=FAST)
    deliver_due(settings=FAST)


def test_add_an_endpoint_see_the_delivery_log_and_redeliver(admin) -> None:
    with webhook_receiver(statuses=[500]) as rx:
        created = post_form(
            admin,
            "/admin/webhooks",
            url=rx.url,
            description="SOC",
            event_types=["case.critical_opened", "case.sla_breached"],
        )
        assert created.status_code == 201
        assert created.headers["Cache-Control"] == "no-store"
        with session_scope() as s:
            ep = s.scalars(select(WebhookEndpointRow)).one()
            s.expunge(ep)
        assert ep.secret in created.get_data(as_text=True)
        assert ep.event_types == ["case.critical_opened", "case.sla_breached"]
        listing = admin.get("/admin/webhooks").get_data(as_text=True)
        assert rx.url in listing and ep.secret not in listing  # masked from now on
        assert ep.secret not in admin.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)

        web_seed.najin_dunay()
        _dispatch()  # attempt 1: 500
        with session_scope() as s:
            d = s.scalars(select(DeliveryRow)).one()
            s.expunge(d)
        log = admin.get(f"/admin/webhooks/{ep.id}/deliveries").get_data(as_text=True)
        assert f'data-delivery="{d.uid}" data-status="pending"' in log
        assert "HTTP 500" in log
        deliver_due(now=d.next_attempt_at, settings=FAST)  # attempt 2: 200
        page = admin.get(f"/admin/deliveries/{d.id}").get_data(as_text=True)
        assert '<b id="delivery-status">delivered</b>' in page
        assert "receiver answer 1 (500)" in page and "receiver answer 2 (200)" in page
        assert json.loads(rx.requests[1].body)["type"] == "case.critical_opened"

        redo = post_form(admin, f"/admin/deliveries/{d.id}/redeliver", follow_redirects=True)
        assert "Attempt 3 requested" in redo.get_data(as_text=True)
        deliver_due(settings=FAST)
        page = admin.get(f"/admin/deliveries/{d.id}").get_data(as_text=True)
        assert re.search(r'data-attempt="3">.*?redeliver by admin', page, re.S)
        assert len(rx.requests) == 3
        assert len({r.headers["X-Sanctions-Delivery"] for r in rx.requests}) == 1


def test_disable_rotate_and_test_event(admin) -> None:
    with webhook_receiver() as rx:
        post_form(admin, "/admin/webhooks", url=rx.url, event_types=["case.critical_opened"])
        with session_scope() as s:
            ep = s.scalars(select(WebhookEndpointRow)).one()
            old, ep_id = ep.secret, ep.id
        post_form(
            admin,
            f"/admin/webhooks/{ep_id}",
            url=rx.url,
            event_types=["case.critical_opened"],
            active="",
        )
        web_seed.najin_dunay()
        _dispatch()
        assert rx.requests == []  # disabled: nothing sent
        rotated = post_form(admin, f"/admin/webhooks/{ep_id}/rotate")
        with session_scope() as s:
            new = s.get(WebhookEndpointRow, ep_id).secret  # type: ignore[union-attr]
        assert new != old and new in rotated.get_data(as_text=True)
        post_form(admin, f"/admin/webhooks/{ep_id}/test")
        _dispatch()
        (got,) = rx.requests
        assert got.headers["X-Sanctions-Event"] == "ping"
        with session_scope() as s:
            actions = [
                a.action
                for a in s.scalars(
                    select(AuditRow)
                    .where(AuditRow.target_type == "webhook_endpoint")
                    .order_by(AuditRow.id)
                )
            ]
            assert old not in json.dumps(
                [a.after for a in s.scalars(select(AuditRow))], default=str
            )
        assert actions == [
            "webhook.create",
            "webhook.update",
            "webhook.rotate_secret",
            "webhook.test",
        ]


def test_a_refused_url_is_said_and_nothing_is_stored(admin) -> None:
    page = post_form(
        admin,
        "/admin/webhooks",
        follow_redirects=True,
        url="http://example.org/hook",
        event_types=["case.critical_opened"],
    ).get_data(as_text=True)
    assert "use https" in page
    with session_scope() as s:
        assert s.scalars(select(WebhookEndpointRow)).all() == []


def test_email_recipients_and_addresses(admin, login_as) -> None:
    login_as(desk_app().test_client(), "senior_officer", "sam")
    post_form(admin, "/admin/notifications/addresses", username="sam", email="sam@desk.example")
    saved = post_form(
        admin,
        "/admin/notifications/routes",
        follow_redirects=True,
        **{
            "approval.requested": "role:senior_officer, lead@desk.example",
            "case.sla_breached": "ops@desk.example",
            "case.critical_opened": "",
        },
    ).get_data(as_text=True)
    assert "E-mail recipients saved." in saved
    bad = post_form(
        admin,
        "/admin/notifications/routes",
        follow_redirects=True,
        **{"approval.requested": "role:nobody"},
    ).get_data(as_text=True)
    assert "roles are" in bad
    with session_scope() as s:
        routes = {r.event_type: r.recipients for r in s.scalars(select(EmailRouteRow))}
        assert s.get(NotifyAddressRow, "sam").email == "sam@desk.example"  # type: ignore[union-attr]
    assert routes == {
        "approval.requested": ["role:senior_officer", "lead@desk.example"],
        "case.sla_breached": ["ops@desk.example"],
        "case.critical_opened": [],
    }
    page = admin.get("/admin/notifications").get_data(as_text=True)
    assert "role:senior_officer, lead@desk.example" in page and "sam@desk.example" in page
    assert "Off" in page  # no SMTP host in the test environment
    assert "SMTP" in admin.get("/admin/settings").get_data(as_text=True)


def test_attempt_rows_are_the_log(admin) -> None:
    """The delivery page lists exactly the attempts the log holds."""
    with webhook_receiver(statuses=[502, 503]) as rx:
        post_form(admin, "/admin/webhooks", url=rx.url, event_types=["case.critical_opened"])
        web_seed.najin_dunay()
        fan_out(settings=FAST)
        for _ in range(3):
            with session_scope() as s:
                due = s.scalars(select(DeliveryRow)).one().next_attempt_at
            deliver_due(now=due, settings=FAST)
        with session_scope() as s:
            d_id = s.scalars(select(DeliveryRow)).one().id
            codes = [a.status_code for a in s.scalars(select(AttemptRow).order_by(AttemptRow.id))]
    assert codes == [502, 503, 200]
    page = admin.get(f"/admin/deliveries/{d_id}").get_data(as_text=True)
    assert re.findall(r'data-attempt="(\d+)"', page) == ["3", "2", "1"]

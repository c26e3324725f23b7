"""Signed webhooks end to end against a real HTTP receiver: a new critical case is told once,
signed so the receiver can check it; failed attempts are retried with backoff (explicit clock, no
sleeping), logged, given up after the limit, redelivered on request."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import web_seed
from notify_support import webhook_receiver
from sqlalchemy import func, select

from engine.cases.tables import CaseAlertRow
from engine.notify import endpoints
from engine.notify.dispatch import backoff, deliver_due, fan_out, redeliver
from engine.notify.settings import NotifySettings
from engine.notify.signing import verify
from engine.notify.tables import AttemptRow, DeliveryRow, NotificationRow
from engine.storage.db import get_engine, session_scope
from engine.storage.desk_tables import AuditRow

SECRET = "whsec_test_secret_of_this_test"


def _settings(**env: object) -> NotifySettings:
    return NotifySettings(**{"SANCTIONS_NOTIFY_BACKOFF_BASE": 10, **env})  # type: ignore[arg-type]


def _endpoint(url: str, types: list[str] | None = None) -> int:
    with get_engine().begin() as conn:
        endpoint_id, _ = endpoints.create(
            conn, url, types or ["case.critical_opened"], "admin", "test receiver", secret=SECRET
        )
    return endpoint_id


def _critical(event_id: str, imo: str = "9179842") -> int:
    raw = web_seed.shipment(event_id)
    raw["shipment"]["vessel"] = {"name": "ANGARA", "imo": imo}
    (alert_id,) = web_seed.store(raw, [web_seed.violation("C1", severity="critical")])
    with session_scope() as s:
        return int(s.scalar(select(CaseAlertRow.case_id).where(CaseAlertRow.alert_id == alert_id)))


def _utc(v: datetime) -> datetime:
    return v if v.tzinfo else v.replace(tzinfo=UTC)


def _hmac(secret: str, t: str, body: bytes) -> str:
    # the receiver's own computation, written out here (not the code under test)
    return hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_new_critical_case_is_posted_once_signed_and_logged(db) -> None:
    with webhook_receiver() as rx:
        endpoint_id = _endpoint(rx.url)
        case_id = _critical("wh-1")
        settings = _settings()
        assert fan_out(settings=settings) == 1
        (done,) = deliver_due(settings=settings)
        assert done.status == "delivered"
        assert len(rx.requests) == 1
        got = rx.requests[0]
        sig = dict(p.split("=", 1) for p in got.headers["X-Sanctions-Signature"].split(","))
        assert sig["v1"] == _hmac(SECRET, sig["t"], got.body)
        assert abs(int(sig["t"]) - datetime.now(UTC).timestamp()) < 300
        doc = json.loads(got.body)
        assert doc["type"] == "case.critical_opened" == got.headers["X-Sanctions-Event"]
        assert doc["data"]["case"]["id"] == case_id
        assert doc["data"]["case"]["severity"] == "critical"
        assert doc["data"]["case"]["path"] == f"/cases/{case_id}"
        assert doc["data"]["event_id"] == "wh-1"
        with session_scope() as s:
            delivery = s.scalars(select(DeliveryRow)).one()
            (attempt,) = s.scalars(select(AttemptRow)).all()
            notification = s.get(NotificationRow, delivery.notification_id)
            assert notification is not None
            assert got.headers["X-Sanctions-Delivery"] == delivery.uid
            assert got.headers["X-Sanctions-Notification"] == notification.uid == doc["id"]
        assert delivery.endpoint_id == endpoint_id and delivery.status == "delivered"
        assert (attempt.attempt, attempt.ok, attempt.status_code) == (1, True, 200)
        assert attempt.response_excerpt == "receiver answer 1 (200)"
        assert attempt.latency_ms > 0 and attempt.error is None and attempt.trigger == "auto"
        # nothing more to do: a second pass posts nothing
        assert fan_out(settings=settings) == 0 and deliver_due(settings=settings) == []
        assert len(rx.requests) == 1


def test_one_notification_per_case_whatever_is_redelivered(db) -> None:
    with webhook_receiver() as rx:
        _endpoint(rx.url)
        first = _critical("id-1", imo="9000011")
        # a later event about the same vessel joins the open case: no new case, nothing told
        assert _critical("id-2", imo="9000011") == first
        # a high-severity case is not told to a critical-case subscriber
        raw = web_seed.shipment("id-3", consignee="Unrelated Co")
        web_seed.store(raw, [web_seed.violation("H1", severity="high")])
        # the same decision saved again (a redelivered batch) files and tells nothing twice
        from engine.models.decisions import Decision
        from engine.storage.repository import save_decisions

        again = Decision(
            event_id="id-1",
            status="flagged",
            violations=[web_seed.violation("C1", severity="critical")],
            rule_pack_version="test-pack-1",
            list_version="un-2024-01-01",
            engine_version="test",
            evaluated_at=datetime.now(UTC),
        )
        save_decisions([again], {"id-1": datetime.now(UTC)})
        settings = _settings()
        fan_out(settings=settings)
        fan_out(settings=settings)
        deliver_due(settings=settings)
        deliver_due(settings=settings)
        with session_scope() as s:
            assert s.scalar(select(func.count()).select_from(NotificationRow)) == 1
            assert s.scalar(select(func.count()).select_from(DeliveryRow)) == 1
        assert [json.loads(r.body)["data"]["case"]["id"] for r in rx.requests] == [first]


def test_500s_are_retried_with_exponential_backoff_then_delivered(db) -> None:
    with webhook_receiver(statuses=[500, 500]) as rx:
        _endpoint(rx.url)
        _critical("rt-1")
        settings = _settings(SANCTIONS_NOTIFY_BACKOFF_BASE=10, SANCTIONS_NOTIFY_BACKOFF_MAX=1000)
        fan_out(settings=settings)
        now = datetime.now(UTC)
        for attempt, (low, high) in enumerate([(5, 10), (10, 20)], start=1):
            (done,) = deliver_due(now=now, settings=settings)
            assert (done.attempt, done.status, done.outcome.status_code) == (
                attempt,
                "pending",
                500,
            )
            with session_scope() as s:
                d = s.scalars(select(DeliveryRow)).one()
            wait = (_utc(d.next_attempt_at) - now).total_seconds()
            # equal jitter: between d/2 and d (d = 10 s * 2**(n-1)), plus the attempt's own time
            assert low <= wait <= high + 5, wait
            # not due before its time
            assert (
                deliver_due(now=_utc(d.next_attempt_at) - timedelta(seconds=1), settings=settings)
                == []
            )
            now = _utc(d.next_attempt_at)
        (done,) = deliver_due(now=now, settings=settings)
        assert (done.attempt, done.status) == (3, "delivered")
        with session_scope() as s:
            log = list(s.scalars(select(AttemptRow).order_by(AttemptRow.attempt)))
        assert [(a.attempt, a.status_code, a.ok) for a in log] == [
            (1, 500, False),
            (2, 500, False),
            (3, 200, True),
        ]
        assert [a.response_excerpt for a in log] == [
            "receiver answer 1 (500)",
            "receiver answer 2 (500)",
            "receiver answer 3 (200)",
        ]
        assert [a.error for a in log] == ["HTTP 500", "HTTP 500", None]
        assert log[0].next_attempt_at is not None and log[2].next_attempt_at is None
        # one delivery: the same id and the same bytes on every attempt, numbered
        assert len({r.headers["X-Sanctions-Delivery"] for r in rx.requests}) == 1
        assert len({r.body for r in rx.requests}) == 1
        assert [r.headers["X-Sanctions-Attempt"] for r in rx.requests] == ["1", "2", "3"]


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    settings = _settings(SANCTIONS_NOTIFY_BACKOFF_BASE=2, SANCTIONS_NOTIFY_BACKOFF_MAX=60)
    rng = random.Random(7)
    draws = {n: [backoff(n, settings, rng) for _ in range(200)] for n in (1, 2, 3, 6, 10)}
    for n, expected in ((1, 2), (2, 4), (3, 8), (6, 60), (10, 60)):
        assert all(expected / 2 <= x <= expected for x in draws[n]), n
        assert max(draws[n]) - min(draws[n]) > expected / 4  # really jittered


def test_gives_up_after_the_attempt_limit_and_an_admin_redelivers(db) -> None:
    with webhook_receiver(statuses=[503, 503]) as rx:
        _endpoint(rx.url)
        _critical("gu-1")
        settings = _settings(SANCTIONS_NOTIFY_MAX_ATTEMPTS=2)
        fan_out(settings=settings)
        now = datetime.now(UTC)
        assert deliver_due(now=now, settings=settings)[0].status == "pending"
        later = now + timedelta(hours=1)
        assert deliver_due(now=later, settings=settings)[0].status == "failed"
        assert deliver_due(now=later + timedelta(days=1), settings=settings) == []
        with session_scope() as s:
            d = s.scalars(select(DeliveryRow)).one()
        assert (d.status, d.attempts, d.last_status_code) == ("failed", 2, 503)
        with get_engine().begin() as conn:
            assert redeliver(conn, d.id, "admin") == 3
        (done,) = deliver_due(settings=settings)
        assert (done.attempt, done.status) == (3, "delivered")
        with session_scope() as s:
            last = s.scalars(select(AttemptRow).where(AttemptRow.attempt == 3)).one()
            audit = s.scalars(select(AuditRow).where(AuditRow.action == "notify.redeliver")).one()
        assert last.trigger == "redeliver by admin" and last.status_code == 200
        assert audit.target_id == str(d.id) and audit.before == {"status": "failed", "attempts": 2}
        assert len(rx.requests) == 3


def test_a_tampered_body_or_a_wrong_secret_or_an_old_timestamp_does_not_verify(db) -> None:
    with webhook_receiver() as rx:
        _endpoint(rx.url)
        _critical("tp-1")
        fan_out(settings=_settings())
        deliver_due(settings=_settings())
    got = rx.requests[0]
    header = got.headers["X-Sanctions-Signature"]
    assert verify(SECRET, header, got.body)
    tampered = got.body.replace(b'"severity":"critical"', b'"severity":"low"')
    assert tampered != got.body
    assert not verify(SECRET, header, tampered)
    t = header.split(",")[0].split("=")[1]
    assert _hmac(SECRET, t, tampered) != header.split("v1=")[1]
    assert not verify("whsec_another_secret", header, got.body)
    assert not verify(SECRET, header, got.body, now=int(t) + 301)
    assert not verify(SECRET, "v1=" + header.split("v1=")[1], got.body)  # no timestamp


def test_disabled_or_unsubscribed_endpoints_get_nothing(db) -> None:
    with webhook_receiver() as rx:
        other = _endpoint(rx.url, ["case.sla_breached"])
        off = _endpoint(rx.url)
        with get_engine().begin() as conn:
            endpoints.update(
                conn, off, "admin", url=rx.url, event_types=["case.critical_opened"], active=False
            )
        _critical("ds-1")
        assert fan_out(settings=_settings()) == 0
        assert deliver_due(settings=_settings()) == []
        assert rx.requests == []
        # a test event reaches the one endpoint it is sent to, subscribed or not
        with get_engine().begin() as conn:
            endpoints.send_test(conn, other, "admin")
        assert fan_out(settings=_settings()) == 1
        (done,) = deliver_due(settings=_settings())
        assert done.status == "delivered"
        assert rx.requests[0].headers["X-Sanctions-Event"] == "ping"
        assert json.loads(rx.requests[0].body)["data"]["endpoint_id"] == other


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/x",
        "http://example.org/hook",  # plain http off loopback
        "https://user:pw@example.org/hook",
        "not a url",
    ],
)
def test_endpoint_urls_refused(db, url: str) -> None:
    with get_engine().begin() as conn, pytest.raises(endpoints.EndpointError):
        endpoints.create(conn, url, ["case.critical_opened"], "admin")

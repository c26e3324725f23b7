"""The dispatcher: fan notifications out into deliveries, and deliver what is due.

Runs as a thread in every worker's main process (SANCTIONS_NOTIFY_INTERVAL seconds, 0 = off;
never on the evaluation queue, so a slow receiver cannot delay decisions), or as
``sanctions notify run``; ``sanctions notify deliver`` does one pass. Several dispatchers may run:
a delivery is claimed by moving its ``next_attempt_at`` forward by a lease with a compare-and-set,
so one attempt is made by one dispatcher; a dispatcher that dies mid-attempt leaves a claim that
expires, and the attempt is made again (delivery is at-least-once: receivers dedupe on the
notification ``id`` or the ``X-Sanctions-Delivery`` header).

Attempt n failed: the next is due after ``backoff(n)`` (engine.notify.settings), until the
delivery's ``attempt_limit``; then it is ``failed``. Every attempt is logged
(``notification_attempts``: status code, response excerpt, latency, error).
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import typing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, select, update

from engine.notify import messages
from engine.notify.events import PING, insert_ignore
from engine.notify.mail import send
from engine.notify.routing import recipients_for
from engine.notify.settings import NotifySettings
from engine.notify.tables import AttemptRow, DeliveryRow, NotificationRow, WebhookEndpointRow
from engine.notify.webhook import Outcome, post
from engine.pipeline.periodic import Periodic
from engine.storage.db import get_engine

log = logging.getLogger(__name__)

NOTIFICATIONS = typing.cast(Table, NotificationRow.__table__)
DELIVERIES = typing.cast(Table, DeliveryRow.__table__)
ATTEMPTS = typing.cast(Table, AttemptRow.__table__)
ENDPOINTS = typing.cast(Table, WebhookEndpointRow.__table__)
LEASE = 30.0  # seconds beyond the attempt's timeout that a claim holds


def backoff(attempt: int, settings: NotifySettings, rng: random.Random | None = None) -> float:
    """Seconds before the attempt after failed attempt ``attempt`` (1-based): exponential, capped,
    with "equal jitter" (a uniform draw in [d/2, d])."""
    d = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
    return d / 2 + (rng or random).random() * d / 2


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fan_out(limit: int = 500, settings: NotifySettings | None = None) -> int:
    """Deliveries for notifications not fanned out yet: one per active endpoint subscribed to the
    type (a ping: its one endpoint), one e-mail when SMTP is set and the type has recipients."""
    settings = settings or NotifySettings()
    made = 0
    with get_engine().begin() as conn:
        pending = conn.execute(
            select(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.fanned_out_at.is_(None))
            .order_by(NOTIFICATIONS.c.id)
            .limit(limit)
        ).all()
        if not pending:
            return 0
        endpoints = conn.execute(
            select(ENDPOINTS.c.id, ENDPOINTS.c.event_types, ENDPOINTS.c.active)
        ).all()
        now = datetime.now(UTC)
        for n in pending:
            rows = []
            for ep in endpoints:
                wanted = (
                    n.data.get("endpoint_id") == ep.id
                    if n.event_type == PING
                    else ep.active and n.event_type in (ep.event_types or [])
                )
                if wanted:
                    rows.append(
                        _delivery(n.id, "webhook", f"endpoint:{ep.id}", now, settings, ep.id)
                    )
            if settings.smtp_host and n.event_type != PING:
                to = recipients_for(conn, n.event_type, n.data)
                if to:
                    rows.append(_delivery(n.id, "email", "email", now, settings, None, to))
            for row in rows:
                new = conn.execute(
                    insert_ignore(conn, DELIVERIES).values(**row).returning(DELIVERIES.c.id)
                ).first()
                made += new is not None
            conn.execute(
                update(NOTIFICATIONS)
                .where(NOTIFICATIONS.c.id == n.id, NOTIFICATIONS.c.fanned_out_at.is_(None))
                .values(fanned_out_at=now)
            )
    return made


def _delivery(
    notification_id: int,
    channel: str,
    target: str,
    now: datetime,
    settings: NotifySettings,
    endpoint_id: int | None,
    recipients: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "uid": "dlv_" + secrets.token_hex(12),
        "notification_id": notification_id,
        "channel": channel,
        "endpoint_id": endpoint_id,
        "target": target,
        "recipients": recipients,
        "status": "pending",
        "attempts": 0,
        "attempt_limit": settings.max_attempts,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class Attempted:
    delivery_id: int
    attempt: int
    outcome: Outcome
    status: str  # the delivery's status after it: delivered | pending | failed


def deliver_due(
    now: datetime | None = None,
    limit: int = 100,
    settings: NotifySettings | None = None,
    rng: random.Random | None = None,
) -> list[Attempted]:
    """Make one attempt of each delivery due at ``now`` (default: the clock), oldest first."""
    settings = settings or NotifySettings()
    now = _utc(now) if now is not None else datetime.now(UTC)  # SQLite reads back naive UTC
    done: list[Attempted] = []
    with get_engine().connect() as conn:
        due = conn.execute(
            select(DELIVERIES.c.id, DELIVERIES.c.next_attempt_at, DELIVERIES.c.attempts)
            .where(DELIVERIES.c.status == "pending", DELIVERIES.c.next_attempt_at <= now)
            .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
            .limit(limit)
        ).all()
    if not due:
        return done

    def one(d: Any) -> Attempted | None:
        return _attempt(d.id, d.next_attempt_at, d.attempts, now, settings, rng)

    # a few attempts at once: one receiver that times out does not hold up the others
    with ThreadPoolExecutor(max_workers=min(settings.concurrency, len(due))) as pool:
        done = [a for a in pool.map(one, due) if a is not None]
    return done


def _claim(
    conn: Connection, delivery_id: int, seen_due: datetime, seen_attempts: int, until: datetime
) -> bool:
    result = conn.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == delivery_id,
            DELIVERIES.c.status == "pending",
            DELIVERIES.c.attempts == seen_attempts,
            DELIVERIES.c.next_attempt_at == seen_due,
        )
        .values(next_attempt_at=until)
    )
    return result.rowcount == 1


def _attempt(
    delivery_id: int,
    seen_due: datetime,
    seen_attempts: int,
    now: datetime,
    settings: NotifySettings,
    rng: random.Random | None,
) -> Attempted | None:
    engine = get_engine()
    with engine.begin() as conn:
        if not _claim(
            conn,
            delivery_id,
            seen_due,
            seen_attempts,
            now + timedelta(seconds=settings.timeout + LEASE),
        ):
            return None  # another dispatcher has it
        d = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).one()
        n = conn.execute(select(NOTIFICATIONS).where(NOTIFICATIONS.c.id == d.notification_id)).one()
        ep = None
        if d.endpoint_id is not None:
            ep = conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.id == d.endpoint_id)).one()
        trigger = _trigger(conn, delivery_id, d.attempts + 1)
    number = d.attempts + 1
    started = datetime.now(UTC)
    if d.channel == "webhook":
        assert ep is not None
        if not ep.active and n.event_type != PING:
            outcome = Outcome(False, None, None, "endpoint is disabled", 0.0)
        else:
            outcome = post(
                ep.url,
                ep.secret,
                messages.body(n.uid, n.event_type, _utc(n.created_at), n.data),
                {
                    "X-Sanctions-Event": n.event_type,
                    "X-Sanctions-Delivery": d.uid,
                    "X-Sanctions-Notification": n.uid,
                    "X-Sanctions-Attempt": str(number),
                },
                settings.timeout,
            )
    else:
        subject, text = messages.email(n.event_type, n.data, settings.public_url)
        outcome = send(settings, list(d.recipients or []), subject, text, d.uid)
    finished = datetime.now(UTC)
    disabled = d.channel == "webhook" and ep is not None and not ep.active and n.event_type != PING
    if outcome.ok:
        status, next_at = "delivered", None
    elif number >= d.attempt_limit or disabled:
        status, next_at = "failed", None
    else:
        status = "pending"
        next_at = max(now, finished) + timedelta(seconds=backoff(number, settings, rng))
    with engine.begin() as conn:
        conn.execute(
            ATTEMPTS.insert().values(
                delivery_id=delivery_id,
                attempt=number,
                trigger=trigger,
                started_at=started,
                latency_ms=outcome.latency_ms,
                ok=outcome.ok,
                status_code=outcome.status_code,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
                next_attempt_at=next_at,
            )
        )
        values: dict[str, Any] = {
            "attempts": number,
            "status": status,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "updated_at": finished,
        }
        if next_at is not None:
            values["next_attempt_at"] = next_at
        if outcome.ok:
            values["delivered_at"] = finished
        conn.execute(
            update(DELIVERIES)
            .where(and_(DELIVERIES.c.id == delivery_id, DELIVERIES.c.attempts == d.attempts))
            .values(**values)
        )
    return Attempted(delivery_id, number, outcome, status)


_REDELIVER_PREFIX = "redeliver by "


def _trigger(conn: Connection, delivery_id: int, number: int) -> str:
    """'auto', or who asked for this attempt (the redeliver audit row left the mark)."""
    from engine.storage.desk_tables import AuditRow

    audit = typing.cast(Table, AuditRow.__table__)
    row = conn.execute(
        select(audit.c.actor, audit.c.after)
        .where(
            audit.c.target_type == "notification_delivery",
            audit.c.target_id == str(delivery_id),
            audit.c.action == "notify.redeliver",
        )
        .order_by(audit.c.id.desc())
        .limit(1)
    ).first()
    if row is not None and (row.after or {}).get("attempt") == number:
        return f"{_REDELIVER_PREFIX}{row.actor}"[:120]
    return "auto"


def redeliver(conn: Connection, delivery_id: int, actor: str) -> int:
    """An admin asks for one more attempt now (delivered, failed or pending alike); the attempt
    is made by the next dispatcher pass. Audited. Returns the attempt number it will be."""
    from engine.storage.desk_tables import AuditRow

    d = conn.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).first()
    if d is None:
        raise LookupError(f"no delivery {delivery_id}")
    now = datetime.now(UTC)
    number = d.attempts + 1
    conn.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.id == delivery_id)
        .values(
            status="pending",
            next_attempt_at=now,
            attempt_limit=max(d.attempt_limit, number),
            updated_at=now,
        )
    )
    conn.execute(
        typing.cast(Table, AuditRow.__table__)
        .insert()
        .values(
            at=now,
            actor=actor,
            action="notify.redeliver",
            target_type="notification_delivery",
            target_id=str(delivery_id),
            before={"status": d.status, "attempts": d.attempts},
            after={"status": "pending", "attempt": number},
        )
    )
    return number


def run_once(settings: NotifySettings | None = None) -> dict[str, int]:
    settings = settings or NotifySettings()
    made = fan_out(settings=settings)
    attempted = deliver_due(settings=settings)
    return {
        "deliveries_created": made,
        "attempts": len(attempted),
        "delivered": sum(a.status == "delivered" for a in attempted),
        "failed": sum(a.status == "failed" for a in attempted),
    }


_periodic = Periodic("sanctions-notify", [("notification dispatch", lambda: run_once())])


def start_background_dispatcher(interval: float | None = None) -> threading.Thread | None:
    """``run_once`` every ``interval`` seconds in a daemon thread (once per process)."""
    return _periodic.start(NotifySettings().interval if interval is None else interval)


def stop_background_dispatcher() -> None:
    _periodic.stop()

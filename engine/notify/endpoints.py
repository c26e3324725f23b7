"""Webhook endpoints as admins keep them: create, change (URL, description, event types,
active), rotate the secret. Nothing is deleted (an endpoint is disabled). Every change writes an
``audit_log`` row (target ``webhook_endpoint``; the secret never appears, only a fingerprint),
which the audit journal seals like any admin change."""

from __future__ import annotations

import hashlib
import typing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from engine.notify.events import EVENT_TYPES, PING, emit
from engine.notify.settings import NotifySettings
from engine.notify.signing import new_secret
from engine.notify.tables import WebhookEndpointRow
from engine.notify.webhook import url_problem
from engine.storage.desk_tables import AuditRow

ENDPOINTS = typing.cast(Table, WebhookEndpointRow.__table__)
AUDIT = typing.cast(Table, AuditRow.__table__)


class EndpointError(ValueError):
    """A change that is not accepted (message is safe to show)."""


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _state(row: Any) -> dict[str, Any]:
    return {
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types or []),
        "active": bool(row.active),
        "secret_sha256_12": fingerprint(row.secret),
    }


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    endpoint_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(
        AUDIT.insert().values(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target_type="webhook_endpoint",
            target_id=str(endpoint_id),
            before=before,
            after=after,
        )
    )


def _checked(
    url: str, event_types: list[str], description: str | None
) -> tuple[str, list[str], str | None]:
    url = (url or "").strip()
    problem = url_problem(url, NotifySettings().allow_http)
    if problem:
        raise EndpointError(problem)
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise EndpointError(f"unknown event types: {', '.join(unknown)}")
    if not event_types:
        raise EndpointError("subscribe the endpoint to at least one event type")
    text = (description or "").strip()[:300] or None
    return url, [t for t in EVENT_TYPES if t in event_types], text


def create(
    conn: Connection,
    url: str,
    event_types: list[str],
    actor: str,
    description: str | None = None,
    secret: str | None = None,
) -> tuple[int, str]:
    """A new active endpoint; returns (id, secret) (the secret is shown to the admin once)."""
    url, types, text = _checked(url, event_types, description)
    secret = secret or new_secret()
    now = datetime.now(UTC)
    endpoint_id = conn.execute(
        ENDPOINTS.insert()
        .values(
            url=url,
            description=text,
            secret=secret,
            event_types=types,
            active=True,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        .returning(ENDPOINTS.c.id)
    ).scalar_one()
    row = conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id)).one()
    _audit(conn, actor, "webhook.create", endpoint_id, None, _state(row))
    return endpoint_id, secret


def _get(conn: Connection, endpoint_id: int) -> Any:
    row = conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id)).first()
    if row is None:
        raise EndpointError(f"no webhook endpoint {endpoint_id}")
    return row


def update(
    conn: Connection,
    endpoint_id: int,
    actor: str,
    *,
    url: str,
    event_types: list[str],
    active: bool,
    description: str | None = None,
) -> None:
    before = _get(conn, endpoint_id)
    url, types, text = _checked(url, event_types, description)
    conn.execute(
        ENDPOINTS.update()
        .where(ENDPOINTS.c.id == endpoint_id)
        .values(
            url=url,
            event_types=types,
            active=active,
            description=text,
            updated_at=datetime.now(UTC),
        )
    )
    after = _get(conn, endpoint_id)
    if _state(before) != _state(after):
        _audit(conn, actor, "webhook.update", endpoint_id, _state(before), _state(after))


def rotate_secret(conn: Connection, endpoint_id: int, actor: str) -> str:
    before = _get(conn, endpoint_id)
    secret = new_secret()
    conn.execute(
        ENDPOINTS.update()
        .where(ENDPOINTS.c.id == endpoint_id)
        .values(secret=secret, updated_at=datetime.now(UTC))
    )
    _audit(
        conn,
        actor,
        "webhook.rotate_secret",
        endpoint_id,
        {"secret_sha256_12": fingerprint(before.secret)},
        {"secret_sha256_12": fingerprint(secret)},
    )
    return secret


def send_test(conn: Connection, endpoint_id: int, actor: str) -> None:
    """A ``ping`` notification to this endpoint only (delivered like any other)."""
    _get(conn, endpoint_id)
    now = datetime.now(UTC)
    emit(
        conn,
        PING,
        f"{PING}:{endpoint_id}:{now.timestamp()}",
        {"endpoint_id": endpoint_id, "requested_by": actor},
    )
    _audit(conn, actor, "webhook.test", endpoint_id, None, None)


def all_endpoints(conn: Connection) -> list[Any]:
    return list(conn.execute(select(ENDPOINTS).order_by(ENDPOINTS.c.id)))

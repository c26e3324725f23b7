"""Admin pages of notifications (issue 14): webhook endpoints, their delivery log with each
attempt and a redeliver action, e-mail routing. Stable URLs (the browser journey uses them):
``/admin/webhooks``, ``/admin/webhooks/<id>``, ``/admin/webhooks/<id>/deliveries``,
``/admin/deliveries/<id>``, ``/admin/notifications``. The web only writes rows (endpoints, a
ping, a redelivery request): the dispatcher in the workers delivers."""

from __future__ import annotations

import typing
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import Table, func, select

from engine.notify import endpoints, routing
from engine.notify.dispatch import redeliver
from engine.notify.events import DESCRIPTIONS, EVENT_TYPES
from engine.notify.messages import body
from engine.notify.settings import NotifySettings
from engine.notify.tables import AttemptRow, DeliveryRow, NotificationRow, WebhookEndpointRow
from engine.storage.db import get_engine
from engine.storage.desk_tables import UserRow
from web.auth.access import roles_required

notify_bp = Blueprint("notify", __name__, url_prefix="/admin")

DELIVERIES = typing.cast(Table, DeliveryRow.__table__)
ATTEMPTS = typing.cast(Table, AttemptRow.__table__)
NOTIFICATIONS = typing.cast(Table, NotificationRow.__table__)
ENDPOINTS = typing.cast(Table, WebhookEndpointRow.__table__)
USERS = typing.cast(Table, UserRow.__table__)
PAGE = 100
STATUSES = ("pending", "delivered", "failed")


def _mask(secret: str) -> str:
    return secret[:6] + "…" + secret[-4:]


def _counts(conn: Any) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in conn.execute(
        select(DELIVERIES.c.endpoint_id, DELIVERIES.c.status, func.count())
        .where(DELIVERIES.c.endpoint_id.is_not(None))
        .group_by(DELIVERIES.c.endpoint_id, DELIVERIES.c.status)
    ):
        out.setdefault(endpoint_id, {})[status] = n
    return out


@notify_bp.get("/webhooks")
@roles_required("admin")
def webhooks() -> Any:
    with get_engine().connect() as conn:
        rows = endpoints.all_endpoints(conn)
        counts = _counts(conn)
    return render_template(
        "notify/webhooks.html",
        rows=rows,
        counts=counts,
        types=EVENT_TYPES,
        descriptions=DESCRIPTIONS,
        mask=_mask,
    )


def _secret_page(endpoint_id: int, url: str, secret: str, what: str) -> Any:
    page = render_template(
        "notify/secret.html", endpoint_id=endpoint_id, url=url, secret=secret, what=what
    )
    return page, 201, {"Cache-Control": "no-store"}


@notify_bp.post("/webhooks")
@roles_required("admin")
def webhooks_create() -> Any:
    form = request.form
    try:
        with get_engine().begin() as conn:
            endpoint_id, secret = endpoints.create(
                conn,
                form.get("url", ""),
                form.getlist("event_types"),
                g.user.username,
                form.get("description"),
            )
    except endpoints.EndpointError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notify.webhooks"), code=303)
    return _secret_page(endpoint_id, form.get("url", "").strip(), secret, "created")


def _endpoint(conn: Any, endpoint_id: int) -> Any:
    row = conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id)).first()
    if row is None:
        abort(404)
    return row


@notify_bp.get("/webhooks/<int:endpoint_id>")
@roles_required("admin")
def webhook(endpoint_id: int) -> Any:
    with get_engine().connect() as conn:
        row = _endpoint(conn, endpoint_id)
        counts = _counts(conn).get(endpoint_id, {})
    return render_template(
        "notify/endpoint.html",
        row=row,
        counts=counts,
        types=EVENT_TYPES,
        descriptions=DESCRIPTIONS,
        mask=_mask,
    )


@notify_bp.post("/webhooks/<int:endpoint_id>")
@roles_required("admin")
def webhook_update(endpoint_id: int) -> Any:
    form = request.form
    try:
        with get_engine().begin() as conn:
            _endpoint(conn, endpoint_id)
            endpoints.update(
                conn,
                endpoint_id,
                g.user.username,
                url=form.get("url", ""),
                event_types=form.getlist("event_types"),
                active=form.get("active") == "1",
                description=form.get("description"),
            )
    except endpoints.EndpointError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Webhook endpoint {endpoint_id} saved.")
    return redirect(url_for("notify.webhook", endpoint_id=endpoint_id), code=303)


@notify_bp.post("/webhooks/<int:endpoint_id>/rotate")
@roles_required("admin")
def webhook_rotate(endpoint_id: int) -> Any:
    with get_engine().begin() as conn:
        row = _endpoint(conn, endpoint_id)
        secret = endpoints.rotate_secret(conn, endpoint_id, g.user.username)
    return _secret_page(endpoint_id, row.url, secret, "rotated")


@notify_bp.post("/webhooks/<int:endpoint_id>/test")
@roles_required("admin")
def webhook_test(endpoint_id: int) -> Any:
    with get_engine().begin() as conn:
        _endpoint(conn, endpoint_id)
        endpoints.send_test(conn, endpoint_id, g.user.username)
    flash("Test event queued: it appears in the delivery log once a dispatcher has sent it.")
    return redirect(url_for("notify.webhook_deliveries", endpoint_id=endpoint_id), code=303)


def _deliveries(conn: Any, where: list[Any], limit: int = PAGE) -> list[Any]:
    return list(
        conn.execute(
            select(
                DELIVERIES,
                NOTIFICATIONS.c.uid.label("notification_uid"),
                NOTIFICATIONS.c.event_type,
                NOTIFICATIONS.c.created_at.label("notified_at"),
            )
            .join(NOTIFICATIONS, NOTIFICATIONS.c.id == DELIVERIES.c.notification_id)
            .where(*where)
            .order_by(DELIVERIES.c.id.desc())
            .limit(limit)
        )
    )


@notify_bp.get("/webhooks/<int:endpoint_id>/deliveries")
@roles_required("admin")
def webhook_deliveries(endpoint_id: int) -> Any:
    status = request.args.get("status", "")
    where = [DELIVERIES.c.endpoint_id == endpoint_id]
    if status in STATUSES:
        where.append(DELIVERIES.c.status == status)
    with get_engine().connect() as conn:
        row = _endpoint(conn, endpoint_id)
        rows = _deliveries(conn, where)
    return render_template(
        "notify/deliveries.html", endpoint=row, rows=rows, status=status, statuses=STATUSES
    )


@notify_bp.get("/deliveries/<int:delivery_id>")
@roles_required("admin")
def delivery(delivery_id: int) -> Any:
    with get_engine().connect() as conn:
        found = _deliveries(conn, [DELIVERIES.c.id == delivery_id], 1)
        if not found:
            abort(404)
        d = found[0]
        n = conn.execute(select(NOTIFICATIONS).where(NOTIFICATIONS.c.id == d.notification_id)).one()
        attempts = list(
            conn.execute(
                select(ATTEMPTS)
                .where(ATTEMPTS.c.delivery_id == delivery_id)
                .order_by(ATTEMPTS.c.attempt.desc(), ATTEMPTS.c.id.desc())
            )
        )
        endpoint = _endpoint(conn, d.endpoint_id) if d.endpoint_id is not None else None
    sent = body(n.uid, n.event_type, n.created_at, n.data).decode()
    return render_template(
        "notify/delivery.html", d=d, n=n, attempts=attempts, endpoint=endpoint, body=sent
    )


@notify_bp.post("/deliveries/<int:delivery_id>/redeliver")
@roles_required("admin")
def delivery_redeliver(delivery_id: int) -> Any:
    try:
        with get_engine().begin() as conn:
            number = redeliver(conn, delivery_id, g.user.username)
    except LookupError:
        abort(404)
    flash(f"Attempt {number} requested: the next dispatcher pass makes it.")
    return redirect(url_for("notify.delivery", delivery_id=delivery_id), code=303)


@notify_bp.get("/notifications")
@roles_required("admin")
def email_settings() -> Any:
    settings = NotifySettings()
    with get_engine().connect() as conn:
        routes = routing.routes(conn)
        addresses = routing.addresses(conn)
        users = list(
            conn.execute(
                select(USERS.c.username, USERS.c.role, USERS.c.active).order_by(USERS.c.username)
            )
        )
        mails = _deliveries(conn, [DELIVERIES.c.channel == "email"], 50)
    return render_template(
        "notify/email.html",
        settings=settings,
        routes=routes,
        addresses=addresses,
        users=users,
        mails=mails,
        types=EVENT_TYPES,
        descriptions=DESCRIPTIONS,
    )


@notify_bp.post("/notifications/routes")
@roles_required("admin")
def email_routes() -> Any:
    try:
        parsed = {t: routing.parse_recipients(request.form.get(t, "")) for t in EVENT_TYPES}
        with get_engine().begin() as conn:
            for event_type, recipients in parsed.items():
                routing.set_route(conn, event_type, recipients, g.user.username)
    except routing.RoutingError as exc:
        flash(str(exc), "error")
    else:
        flash("E-mail recipients saved.")
    return redirect(url_for("notify.email_settings"), code=303)


@notify_bp.post("/notifications/addresses")
@roles_required("admin")
def email_address() -> Any:
    try:
        with get_engine().begin() as conn:
            routing.set_address(
                conn,
                request.form.get("username", ""),
                request.form.get("email", ""),
                g.user.username,
            )
    except routing.RoutingError as exc:
        flash(str(exc), "error")
    else:
        flash("Address saved.")
    return redirect(url_for("notify.email_settings"), code=303)

"""What a notification says: the webhook body (JSON) and the e-mail subject and text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from engine.notify.events import APPROVAL_REQUESTED, CRITICAL_CASE, PING, SLA_BREACHED


def _iso(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(uid: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The webhook body: the same bytes on every attempt of every delivery of it (the receiver
    dedupes on ``id``)."""
    doc = {"id": uid, "type": event_type, "created": _iso(created_at), "data": data}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _link(path: str | None, public_url: str | None) -> str:
    if not path:
        return ""
    return (public_url or "").rstrip("/") + path


def email(event_type: str, data: dict[str, Any], public_url: str | None) -> tuple[str, str]:
    """(subject, text) of the e-mail of one notification."""
    case = data.get("case") or {}
    if event_type == CRITICAL_CASE:
        subject = f"[Sanctions] Critical case #{case.get('id')}: {case.get('title')}"
        lines = [
            f"A new critical case was opened at {case.get('opened_at')}.",
            f"Case #{case.get('id')}: {case.get('title')}",
            f"Event: {data.get('event_id')}",
        ]
        path = case.get("path")
    elif event_type == APPROVAL_REQUESTED:
        approval = data.get("approval") or {}
        if approval.get("kind") == "closure":
            alert = data.get("alert") or {}
            subject = f"[Sanctions] Approval requested: close alert #{alert.get('id')}"
            lines = [
                f"{approval.get('requested_by')} asks to close the {alert.get('severity')} alert "
                f"#{alert.get('id')} ({alert.get('title')}) as {approval.get('resolution')}.",
                "Another senior officer approves or rejects it.",
            ]
        else:
            subject = f"[Sanctions] Approval requested: allowlist entry #{approval.get('id')}"
            lines = [
                f"Allowlist entry #{approval.get('id')} ({approval.get('party') or 'party'} is "
                f"not {approval.get('list_reference')}) waits for approval "
                f"({approval.get('why')} by {approval.get('requested_by')}).",
            ]
        path = approval.get("path")
    elif event_type == SLA_BREACHED:
        subject = f"[Sanctions] Overdue: case #{case.get('id')} ({case.get('severity')})"
        lines = [
            f"Case #{case.get('id')} ({case.get('title')}) was due at {data.get('due_at')} "
            f"({data.get('sla_hours')} h for {case.get('severity')}) and is still open.",
        ]
        path = case.get("path")
    elif event_type == PING:
        subject, lines, path = "[Sanctions] Test notification", ["A test notification."], None
    else:
        subject, lines, path = f"[Sanctions] {event_type}", [json.dumps(data)], None
    link = _link(path, public_url)
    if link:
        lines += ["", link]
    return subject[:200], "\n".join(lines) + "\n"

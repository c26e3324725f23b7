"""Who may decide a four-eyes request, and how a request that waits on one senior reaches the pool.

A requester routes a request to a named senior officer or to the pool of seniors. A named route
falls back to the pool when that senior is away (marked by themselves or an admin), is no longer
an active senior, or has not answered within ``SANCTIONS_APPROVAL_FALLBACK_HOURS`` (default 24).
Fall-backs are written, with an audit row, whenever routes are read (the inbox pages) or a senior
is marked away, so no timer process is needed. Whoever decides, the requester never does.

Every function works in the caller's session: the route changes commit with the request.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from engine.approvals.tables import KINDS, ApprovalRouteRow, SeniorAwayRow
from engine.storage.desk_tables import AuditRow, UserRow

FALLBACK_ENV = "SANCTIONS_APPROVAL_FALLBACK_HOURS"
DEFAULT_FALLBACK_HOURS = 24.0
POOL = "pool"  # what a form posts for "any senior officer"
SYSTEM = "approval routing"  # the actor of automatic fall-backs


class RoutingError(ValueError):
    """A refused routing step (message is safe to show)."""


def fallback_hours(text: str | None = None) -> float:
    """Hours a named senior has to answer before the request goes to the pool (malformed or
    non-positive values keep the default)."""
    raw = os.environ.get(FALLBACK_ENV, "") if text is None else text
    try:
        hours = float(raw)
    except ValueError:
        return DEFAULT_FALLBACK_HOURS
    return hours if hours > 0 else DEFAULT_FALLBACK_HOURS


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _audit(
    s: Session, row: ApprovalRouteRow, actor: str, action: str, after: dict[str, Any], note: str
) -> None:
    closure = row.kind == "closure"
    s.add(
        AuditRow(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target_type="alert" if closure else "allowlist",
            target_id=str(row.alert_id if closure else row.ref_id),
            alert_id=row.alert_id if closure else None,
            after={"kind": row.kind, "request": row.ref_id, **after},
            note=note,
        )
    )


def seniors(s: Session) -> list[str]:
    """Active senior officers (who a request can be routed to)."""
    return list(
        s.scalars(
            select(UserRow.username)
            .where(UserRow.role == "senior_officer", UserRow.active.is_(True))
            .order_by(UserRow.username)
        )
    )


def away(s: Session) -> dict[str, SeniorAwayRow]:
    return {r.username: r for r in s.scalars(select(SeniorAwayRow))}


def open_route(
    s: Session,
    kind: str,
    ref_id: int,
    *,
    requested_by: str,
    to: str | None,
    title: str,
    alert_id: int | None = None,
    actor: str | None = None,
) -> ApprovalRouteRow:
    """Record who decides a new request: ``to`` a senior's username, or None / "pool".
    ``actor`` is who the audit row names when not the requester (a list import re-opening)."""
    if kind not in KINDS:
        raise RoutingError(f"unknown kind of approval {kind!r}")
    target = (to or "").strip() or None
    if target == POOL:
        target = None
    if target is not None:
        if target == requested_by:
            raise RoutingError("you cannot route your own request to yourself: choose another")
        if target not in seniors(s):
            raise RoutingError(f"{target!r} is not an active senior officer")
    now = datetime.now(UTC)
    row = ApprovalRouteRow(
        kind=kind,
        ref_id=ref_id,
        alert_id=alert_id,
        title=title[:300],
        requested_by=requested_by,
        requested_at=now,
        routed_to=target,
    )
    s.add(row)
    s.flush()
    if target is None:
        return row  # the pool: the request's own audit row says enough
    _audit(
        s, row, actor or requested_by, "route_approval", {"routed_to": target}, f"asked {target}"
    )
    if target in away(s):
        _to_pool(s, row, f"{target} is away", now)
    return row


def current(s: Session, kind: str, ref_id: int) -> ApprovalRouteRow | None:
    """The undecided route of a request (None: a request made before routing existed: pool)."""
    return s.scalar(
        select(ApprovalRouteRow)
        .where(
            ApprovalRouteRow.kind == kind,
            ApprovalRouteRow.ref_id == ref_id,
            ApprovalRouteRow.decided_at.is_(None),
        )
        .order_by(ApprovalRouteRow.id.desc())
    )


def in_pool(row: ApprovalRouteRow) -> bool:
    return row.routed_to is None or row.pooled_at is not None


def holder(row: ApprovalRouteRow | None) -> str | None:
    """The one senior who may decide, or None when any senior but the requester may."""
    return None if row is None or in_pool(row) else row.routed_to


def _to_pool(s: Session, row: ApprovalRouteRow, why: str, now: datetime) -> bool:
    # Compare-and-set: two pages reading the routes at once move (and audit) a route once.
    moved = s.execute(
        update(ApprovalRouteRow)
        .where(ApprovalRouteRow.id == row.id, ApprovalRouteRow.pooled_at.is_(None))
        .values(pooled_at=now, pooled_why=why)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        return False
    s.refresh(row)
    _audit(
        s,
        row,
        SYSTEM,
        "approval_to_pool",
        {"from": row.routed_to, "routed_to": POOL},
        f"{why}: any senior officer but {row.requested_by} may decide",
    )
    return True


def fall_back(
    s: Session, now: datetime | None = None, hours: float | None = None
) -> list[ApprovalRouteRow]:
    """Send to the pool every named, undecided route whose senior is away, no longer an active
    senior, or has not answered in time. Returns the routes moved."""
    now = now or datetime.now(UTC)
    limit = timedelta(hours=fallback_hours() if hours is None else hours)
    named = list(
        s.scalars(
            select(ApprovalRouteRow)
            .where(
                ApprovalRouteRow.decided_at.is_(None),
                ApprovalRouteRow.routed_to.is_not(None),
                ApprovalRouteRow.pooled_at.is_(None),
            )
            .order_by(ApprovalRouteRow.id)
        )
    )
    if not named:
        return []
    gone = away(s)
    active = set(seniors(s))
    moved = []
    for row in named:
        who = row.routed_to or ""
        if who in gone:
            why = f"{who} is away"
        elif who not in active:
            why = f"{who} is no longer an active senior officer"
        elif _aware(row.requested_at) + limit <= now:
            why = f"{who} did not answer within {limit.total_seconds() / 3600:g} h"
        else:
            continue
        if _to_pool(s, row, why, now):
            moved.append(row)
    return moved


def check_decider(s: Session, kind: str, ref_id: int, actor: str) -> ApprovalRouteRow | None:
    """Refuse anyone but the route's senior (until it falls back) and always the requester."""
    fall_back(s)
    row = current(s, kind, ref_id)
    if row is None:
        return None
    if row.requested_by == actor:
        raise RoutingError("the requester cannot approve or reject their own request")
    named = holder(row)
    if named is not None and named != actor:
        raise RoutingError(
            f"this request is routed to {named}; it goes to the pool of senior officers if "
            f"{named} is away or has not answered within {fallback_hours():g} h"
        )
    return row


def settle(s: Session, kind: str, ref_id: int, actor: str) -> None:
    """Mark the request's route decided (in the transaction that decides the request)."""
    row = current(s, kind, ref_id)
    if row is not None:
        row.decided_by = actor
        row.decided_at = datetime.now(UTC)
        s.flush()


def may_decide(row: ApprovalRouteRow | None, requested_by: str, username: str) -> bool:
    """What the pages show (check_decider still enforces it)."""
    if username == requested_by or (row is not None and row.requested_by == username):
        return False
    named = holder(row)
    return named is None or named == username


def set_away(s: Session, username: str, is_away: bool, actor: str, note: str | None) -> None:
    """Mark a senior away (their routed requests go to the pool at once) or back."""
    user = s.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or user.role != "senior_officer":
        raise RoutingError(f"{username!r} is not a senior officer")
    row = s.get(SeniorAwayRow, username)
    now = datetime.now(UTC)
    text = (note or "").strip()[:1000] or None
    if is_away and row is None:
        s.add(SeniorAwayRow(username=username, since=now, set_by=actor, note=text))
    elif not is_away and row is not None:
        s.delete(row)
    else:
        raise RoutingError(f"{username} is {'away' if is_away else 'not away'} already")
    s.add(
        AuditRow(
            at=now,
            actor=actor,
            action="mark_away" if is_away else "mark_back",
            target_type="user",
            target_id=username,
            after={"away": is_away},
            note=text,
        )
    )
    s.flush()
    if is_away:
        fall_back(s, now)


def inbox(s: Session, username: str) -> list[ApprovalRouteRow]:
    """Undecided requests routed to this senior by name (not fallen back)."""
    return list(
        s.scalars(
            select(ApprovalRouteRow)
            .where(
                ApprovalRouteRow.decided_at.is_(None),
                ApprovalRouteRow.routed_to == username,
                ApprovalRouteRow.pooled_at.is_(None),
            )
            .order_by(ApprovalRouteRow.requested_at, ApprovalRouteRow.id)
        )
    )


def pool(s: Session) -> list[ApprovalRouteRow]:
    """Undecided requests any senior (but the requester) may decide."""
    return list(
        s.scalars(
            select(ApprovalRouteRow)
            .where(
                ApprovalRouteRow.decided_at.is_(None),
                or_(ApprovalRouteRow.routed_to.is_(None), ApprovalRouteRow.pooled_at.is_not(None)),
            )
            .order_by(ApprovalRouteRow.requested_at, ApprovalRouteRow.id)
        )
    )


def requested(s: Session, username: str) -> list[ApprovalRouteRow]:
    return list(
        s.scalars(
            select(ApprovalRouteRow)
            .where(ApprovalRouteRow.decided_at.is_(None), ApprovalRouteRow.requested_by == username)
            .order_by(ApprovalRouteRow.requested_at, ApprovalRouteRow.id)
        )
    )

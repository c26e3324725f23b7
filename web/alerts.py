"""The alert queue and the alert detail page (read-only views over alerts, decisions, events)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, abort, g, render_template, request
from sqlalchemy import String, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from engine.approvals import routing
from engine.lists.store import Delisting, delistings, references_in
from engine.models.decisions import SEVERITIES
from engine.models.decisions import SEVERITY_RANK as SEVERITY_RANKS
from engine.storage.db import session_scope
from engine.storage.desk_tables import AlertNoteRow, UserRow
from engine.storage.tables import AlertRow, DecisionRow, EventRow
from web.auth.access import READERS, roles_required
from web.desk.audit import alert_history
from web.desk.workflow import (
    ACTIVE_STATES,
    RESOLUTIONS,
    REVIEWER_ROLES,
    STATES,
    allowed_actions,
    pending_approval,
)
from web.replays_views import REPLAYERS, replays_of
from web.vessels_views import vessel_keys

alerts_bp = Blueprint("alerts", __name__)

SEVERITY_RANK = case(SEVERITY_RANKS, value=AlertRow.severity, else_=0)
SORTS = {
    "created": AlertRow.created_at,
    "occurred": AlertRow.occurred_at,
    "severity": SEVERITY_RANK,
    "regime": AlertRow.regime,
    "rule": AlertRow.rule_id,
    "status": AlertRow.status,
    "assignee": AlertRow.assignee,
    "id": AlertRow.id,
}
PER_PAGE_CHOICES = (25, 50, 100, 200)
CSV_LIMIT = 100_000


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class AlertFilter:
    """The queue's filter, read from and written back to the URL query string."""

    regime: str = ""
    rule_id: str = ""
    severity: str = ""
    status: str = ""  # "" = all, "active" = not closed, or one state
    assignee: str = ""  # "" = anyone, "-" = unassigned, or a username
    origin: str = ""
    q: str = ""  # party or vessel name: substring of the event's raw JSON
    date_on: str = "created"  # created | occurred
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "created"
    dir: str = "desc"
    page: int = 1
    per_page: int = 50
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Any, username: str | None = None) -> AlertFilter:
        f = cls(
            regime=args.get("regime", "").strip()[:50],
            rule_id=args.get("rule_id", "").strip()[:100],
            severity=args.get("severity", "") if args.get("severity") in SEVERITIES else "",
            status=args.get("status", "") if args.get("status") in (*STATES, "active") else "",
            assignee=args.get("assignee", "").strip()[:100],
            origin=args.get("origin", "")
            if args.get("origin") in ("live", "retro_screening")
            else "",
            q=args.get("q", "").strip()[:200],
            date_on="occurred" if args.get("date_on") == "occurred" else "created",
            date_from=_date(args.get("from")),
            date_to=_date(args.get("to")),
            sort=args.get("sort") if args.get("sort") in SORTS else "created",
            dir="asc" if args.get("dir") == "asc" else "desc",
        )
        if f.assignee == "me" and username:
            f.assignee = username
        try:
            f.page = max(1, min(int(args.get("page", 1)), 1_000_000))
        except ValueError:
            f.page = 1
        try:
            per_page = int(args.get("per_page", 50))
            f.per_page = per_page if per_page in PER_PAGE_CHOICES else 50
        except ValueError:
            f.per_page = 50
        for name in ("from", "to"):
            if args.get(name) and _date(args.get(name)) is None:
                f.errors.append(f"'{name}' is not a date (YYYY-MM-DD); ignored")
        return f

    def args(self, **override: Any) -> dict[str, Any]:
        """Non-default values as query arguments (so a saved URL reproduces the view)."""
        values = {
            "regime": self.regime,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "status": self.status,
            "assignee": self.assignee,
            "origin": self.origin,
            "q": self.q,
            "date_on": "" if self.date_on == "created" else self.date_on,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "sort": "" if self.sort == "created" else self.sort,
            "dir": "" if self.dir == "desc" else self.dir,
            "page": "" if self.page == 1 else str(self.page),
            "per_page": "" if self.per_page == 50 else str(self.per_page),
        }
        values.update({k: ("" if v is None else str(v)) for k, v in override.items()})
        return {k: v for k, v in values.items() if v}

    def query_string(self, **override: Any) -> str:
        return urlencode(self.args(**override))

    def conditions(self, include_status: bool = True) -> list[Any]:
        conds: list[Any] = []
        if self.regime:
            conds.append(AlertRow.regime == self.regime)
        if self.rule_id:
            conds.append(AlertRow.rule_id == self.rule_id)
        if self.severity:
            conds.append(AlertRow.severity == self.severity)
        if include_status and self.status == "active":
            conds.append(AlertRow.status.in_(ACTIVE_STATES))
        elif include_status and self.status:
            conds.append(AlertRow.status == self.status)
        if self.assignee == "-":
            conds.append(AlertRow.assignee.is_(None))
        elif self.assignee:
            conds.append(AlertRow.assignee == self.assignee)
        if self.origin:
            conds.append(AlertRow.origin == self.origin)
        column = AlertRow.occurred_at if self.date_on == "occurred" else AlertRow.created_at
        if self.date_from:
            conds.append(column >= datetime.combine(self.date_from, time.min, UTC))
        if self.date_to:
            conds.append(column < datetime.combine(self.date_to + timedelta(days=1), time.min, UTC))
        if self.q:
            # Portable on SQLite (JSON is text) and PostgreSQL (jsonb::text): a case-insensitive
            # substring of the stored event. Wildcards typed by the user are matched literally.
            # The stored text is JSON: quotes and backslashes are escaped, and SQLite keeps
            # non-ASCII as \uXXXX, which its ASCII-only lower() leaves as is. So also match the
            # escaped form of the usual capitalisations (as typed, lower, upper, Title, Capital).
            raw_text = func.lower(cast(EventRow.raw, String))
            q = self.q
            variants = {q, q.lower(), q.upper(), q.title(), q.capitalize()}
            needles = {q.lower()} | {json.dumps(v)[1:-1].lower() for v in variants}
            matches = [raw_text.like(f"%{_like_escape(n)}%", escape="\\") for n in sorted(needles)]
            conds.append(AlertRow.event_id.in_(select(EventRow.event_id).where(or_(*matches))))
        return conds

    def select(self) -> Select:
        order = SORTS[self.sort]
        order = order.asc() if self.dir == "asc" else order.desc()
        tiebreak = AlertRow.id.asc() if self.dir == "asc" else AlertRow.id.desc()
        return select(AlertRow).where(*self.conditions()).order_by(order, tiebreak)


def matching_ids(session: Session, f: AlertFilter, limit: int) -> list[int]:
    stmt = f.select().with_only_columns(AlertRow.id).limit(limit)
    return list(session.scalars(stmt))


def state_counts(session: Session, f: AlertFilter) -> dict[str, int]:
    rows = session.execute(
        select(AlertRow.status, func.count())
        .where(*f.conditions(include_status=False))
        .group_by(AlertRow.status)
    ).all()
    counts = {state: 0 for state in STATES}
    counts.update({status: n for status, n in rows})
    return counts


def _choices(session: Session) -> dict[str, list[str]]:
    return {
        "regimes": list(
            session.scalars(select(AlertRow.regime).distinct().order_by(AlertRow.regime))
        ),
        "rules": list(
            session.scalars(select(AlertRow.rule_id).distinct().order_by(AlertRow.rule_id))
        ),
        "assignees": list(
            session.scalars(
                select(UserRow.username)
                .where(UserRow.role.in_(REVIEWER_ROLES), UserRow.active.is_(True))
                .order_by(UserRow.username)
            )
        ),
    }


def _name(value: Any) -> str:
    return (
        value.get("name") or value.get("imo") or value.get("country") or ""
        if isinstance(value, dict)
        else ""
    )


def subject(raw: dict[str, Any]) -> str:
    """A one-line summary of an event for the queue: who or what, and where."""
    body = raw.get(raw.get("event_type", ""), {}) if isinstance(raw, dict) else {}
    if not isinstance(body, dict):
        return ""
    if raw.get("event_type") == "shipment":
        parts = [_name(body.get("origin")) + " → " + _name(body.get("destination"))]
        if _name(body.get("vessel")):
            parts.append("vessel " + _name(body.get("vessel")))
        parties = [p.get("name", "") for p in body.get("parties") or [] if isinstance(p, dict)]
        parts.extend(parties[:2])
        return " · ".join(p for p in parts if p.strip(" →"))
    if raw.get("event_type") == "entity":
        return " · ".join(
            x for x in (str(body.get("name") or ""), str(body.get("action") or "")) if x
        )
    kind = str(body.get("kind") or "").replace("_", " ")
    return " · ".join(x for x in (_name(body.get("vessel")), kind, _name(body.get("port"))) if x)


def subjects(session: Session, event_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(EventRow.event_id, EventRow.raw).where(EventRow.event_id.in_(event_ids))
    )
    return {event_id: subject(raw)[:200] for event_id, raw in rows}


def delisted_by_alert(alerts: list[AlertRow]) -> dict[int, list[Delisting]]:
    """Per alert id, the list entries it cites that have since left the UN list (one lookup for
    the whole page). Delistings close nothing: the desk only shows them."""
    cited = {a.id: references_in(a.violation or {}) for a in alerts}
    gone = delistings({ref for refs in cited.values() for ref in refs})
    return {
        aid: [gone[r] for r in refs if r in gone]
        for aid, refs in cited.items()
        if any(r in gone for r in refs)
    }


def rule_url(rule_id: str) -> str:
    """The measure's page (served by the rule-pack views)."""
    return "/rules/" + quote(rule_id, safe="")


def local_day(value: datetime | None, given: str | None = None) -> str:
    """The event's own calendar day at the offset the event gave (what its reason text says),
    with that offset when it is not UTC; the UTC day when the given time is not at hand."""
    try:
        when = datetime.fromisoformat(given) if given else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return utc(value, "%Y-%m-%d").removesuffix(" UTC")
    offset = when.strftime("%z")
    suffix = "" if offset == "+0000" else f" (UTC{offset[:3]}:{offset[3:]})"
    return when.strftime("%Y-%m-%d") + suffix


def given_times(session: Session, event_ids: list[str]) -> dict[str, str]:
    """occurred_at of each event as the event gave it (with its own offset)."""
    rows = session.execute(
        select(EventRow.event_id, EventRow.raw).where(EventRow.event_id.in_(event_ids))
    )
    return {e: str(raw.get("occurred_at") or "") for e, raw in rows if isinstance(raw, dict)}


@alerts_bp.app_template_global()
def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """SQLite returns naive datetimes: treat them as UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt) + " UTC"


@alerts_bp.get("/")
@roles_required(*READERS)
def home() -> Any:
    return queue()


@alerts_bp.get("/alerts")
@roles_required(*READERS)
def queue() -> Any:
    f = AlertFilter.from_args(request.args, g.user.username)
    with session_scope() as s:
        total = (
            s.scalar(select(func.count()).select_from(f.select().order_by(None).subquery())) or 0
        )
        pages = max(1, -(-total // f.per_page))
        f.page = min(f.page, pages)
        alerts = list(s.scalars(f.select().limit(f.per_page).offset((f.page - 1) * f.per_page)))
        counts = state_counts(s, f)
        choices = _choices(s)
        about = subjects(s, [a.event_id for a in alerts])
        given = given_times(s, [a.event_id for a in alerts])
    delisted = delisted_by_alert(alerts)
    return render_template(
        "alerts/list.html",
        alerts=alerts,
        about=about,
        given=given,
        local_day=local_day,
        delisted=delisted,
        f=f,
        total=total,
        pages=pages,
        counts=counts,
        states=STATES,
        severities=SEVERITIES,
        sorts=SORTS,
        per_page_choices=PER_PAGE_CHOICES,
        can_bulk=g.user.role in REVIEWER_ROLES,
        rule_url=rule_url,
        **choices,
    )


def _csv_cell(value: Any) -> str:
    """Stop spreadsheet formula injection from hostile event data."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _iso(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, which spreadsheets and pandas parse as a time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parties_and_vessel(raw: Any) -> tuple[str, str]:
    if not isinstance(raw, dict):
        return "", ""
    body = raw.get(raw.get("event_type", ""), {})
    if not isinstance(body, dict):
        return "", ""
    parties = [
        f"{p.get('role') or 'party'}: {p.get('name')}"
        + (f" ({p['country']})" if p.get("country") else "")
        for p in body.get("parties") or []
        if isinstance(p, dict) and p.get("name")
    ]
    if raw.get("event_type") == "entity" and body.get("name"):
        parties.insert(0, f"entity: {body['name']}")
    found = body.get("vessel")
    vessel: dict[str, Any] = found if isinstance(found, dict) else {}
    name, imo = str(vessel.get("name") or ""), vessel.get("imo")
    v = " ".join(x for x in (name, f"IMO {imo}" if imo else "") if x)
    return "; ".join(parties), v


CSV_COLUMNS = [
    "id",
    "case_id",
    "created_at",
    "occurred_at",
    "event_id",
    "regime",
    "rule_id",
    "severity",
    "status",
    "resolution",
    "assignee",
    "origin",
    "title",
    "citation",
    "parties",
    "vessel",
    "reason",
    "closed_at",
    "closed_by",
    "rationale",
]


@alerts_bp.get("/alerts.csv")
@roles_required(*READERS)
def export_csv() -> Response:
    """The current view as CSV: one row per alert with its case, parties, vessel, reason and
    who closed it with what rationale (from the audit log); cells are formula-protected."""
    from engine.cases.tables import CaseAlertRow
    from engine.storage.desk_tables import AuditRow

    f = AlertFilter.from_args(request.args, g.user.username)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    with session_scope() as s:
        alerts = list(s.scalars(f.select().limit(CSV_LIMIT)))
        for start in range(0, len(alerts), 500):
            chunk = alerts[start : start + 500]
            ids = [a.id for a in chunk]
            cases = dict(
                s.execute(
                    select(CaseAlertRow.alert_id, CaseAlertRow.case_id).where(
                        CaseAlertRow.alert_id.in_(ids)
                    )
                ).all()
            )
            raws: dict[str, Any] = dict(
                s.execute(
                    select(EventRow.event_id, EventRow.raw).where(
                        EventRow.event_id.in_({a.event_id for a in chunk})
                    )
                ).all()
            )
            closes: dict[int, tuple[str, str | None]] = {}
            for alert_id, actor, note in s.execute(
                select(AuditRow.alert_id, AuditRow.actor, AuditRow.note)
                .where(
                    AuditRow.alert_id.in_(ids),
                    AuditRow.action.in_(("close", "approve_closure", "request_closure")),
                )
                .order_by(AuditRow.at, AuditRow.id)
            ):
                if alert_id is None:
                    continue
                previous = closes.get(alert_id)
                # the rationale is the closer's note; an approver's own note does not replace it
                closes[alert_id] = (actor, note if note or previous is None else previous[1])
            for a in chunk:
                parties, vessel = _parties_and_vessel(raws.get(a.event_id))
                closer, rationale = (
                    closes.get(a.id, ("", None)) if a.status == "closed" else ("", None)
                )
                values = {
                    "case_id": cases.get(a.id),
                    "parties": parties,
                    "vessel": vessel,
                    "reason": (a.violation or {}).get("reason", ""),
                    "closed_by": closer,
                    "rationale": rationale,
                }
                row = []
                for col in CSV_COLUMNS:
                    value = values[col] if col in values else getattr(a, col)
                    row.append(_csv_cell(_iso(value) if isinstance(value, datetime) else value))
                writer.writerow(row)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="alerts-{stamp}.csv"'},
    )


_RULE_SYNTAX = re.compile(
    r"^\s*([a-z_][a-z0-9_.]*)\s+(eq|ne|in|not_in|gt|ge|lt|le|contains)\s+(.+)$"
)


def readable_note(note: Any) -> str:
    """An evidence note for an officer: a bare rule condition (``list_regime eq 'DPRK'``, the
    compiler's wording) becomes words; anything else is shown as written."""
    text = "" if note is None else str(note)
    m = _RULE_SYNTAX.match(text)
    if m is None:
        return text
    field, op, value = m.groups()
    words = {
        "eq": "is",
        "ne": "is not",
        "in": "is one of",
        "not_in": "is none of",
        "gt": "is more than",
        "ge": "is at least",
        "lt": "is less than",
        "le": "is at most",
        "contains": "contains",
    }[op]
    return f"{field.replace('_', ' ').replace('.', ' ')} {words} {value.strip()}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@alerts_bp.get("/alerts/<int:alert_id>")
@roles_required(*READERS)
def detail(alert_id: int) -> Any:
    with session_scope() as s:
        alert = s.get(AlertRow, alert_id)
        if alert is None:
            abort(404)
        event = s.scalar(select(EventRow).where(EventRow.event_id == alert.event_id))
        decision = s.get(DecisionRow, alert.decision_id) if alert.decision_id else None
        history = alert_history(s, alert_id)
        notes = list(
            s.scalars(
                select(AlertNoteRow)
                .where(AlertNoteRow.alert_id == alert_id)
                .order_by(AlertNoteRow.at)
            )
        )
        pending = pending_approval(s, alert_id)
        if pending:
            routing.fall_back(s)  # an overdue or away-held request shows as the pool's
        route = routing.current(s, "closure", pending.id) if pending else None
        approvers = [u for u in routing.seniors(s) if u != g.user.username]
        gone = set(routing.away(s))
        reviewers = _choices(s)["assignees"]
        can_replay = g.user.role in REPLAYERS and decision is not None
        replays = replays_of(s, alert.event_id) if can_replay else []
    violation = alert.violation or {}
    actions = allowed_actions(alert, g.user.role, g.user.username, pending, route)
    return render_template(
        "alerts/detail.html",
        alert=alert,
        delisted=delisted_by_alert([alert]).get(alert.id, []),
        can_replay=can_replay,
        replays=replays,
        event=event,
        event_json=pretty_json(event.raw) if event else None,
        event_subject=subject(event.raw) if event else "",
        vessels=vessel_keys(event.raw) if event else [],
        decision=decision,
        data_quality=(decision.data_quality if decision else None) or [],
        # this alert's measure rests on a value the event left unknown (the decision may hold
        # other violations that do not)
        needs_information=bool(violation.get("needs_information")),
        violation=violation,
        citations=violation.get("citations") or [],
        evidence=[
            {**e, "value_json": pretty_json(e.get("value")), "note": readable_note(e.get("note"))}
            for e in violation.get("evidence") or []
        ],
        matches=[e for e in violation.get("evidence") or [] if e.get("screening")],
        history=history,
        notes=notes,
        pending=pending,
        route=route,
        approvers=approvers,
        away=gone,
        actions=actions,
        resolutions=RESOLUTIONS,
        reviewers=reviewers,
        rule_url=rule_url(alert.rule_id),
        pretty_json=pretty_json,
    )

"""Create, lift and end snoozes; read them as they stood at a version. Every change bumps the
snooze version, appends a snooze_changes row and writes an audit_log row (target ``snooze``).

Who: an active senior officer snoozes, alone. A snooze changes no decision and closes nothing;
it withholds only new alerts whose material facts equal the snoozed alert's, for at most
MAX_DAYS, and every withheld event stays visible on the snoozed case. A second approval (as
for an allowlist entry, which turns hits into clear decisions) would not add control here;
leaving officers out keeps an officer from sidestepping the four eyes of a critical closure by
silencing its repeats. Lifting only restores alerting: any officer or senior officer may.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.snoozes.facts import fingerprint, material_facts, subject_keys
from engine.snoozes.tables import SnoozeChangeRow, SnoozeHeadRow, SnoozeRow
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow, UserRow

MAX_DAYS = 30


class SnoozeError(ValueError):
    """A refused snooze change (message is safe to show)."""


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Snooze:
    """One snooze as a snapshot holds it (also the JSON of its change rows)."""

    id: int
    subject_key: str
    rule_id: str
    fingerprint: str
    case_id: int | None
    alert_id: int | None
    starts_at: datetime
    expires_at: datetime
    status: str
    created_by: str
    reason: str

    @classmethod
    def of(cls, row: SnoozeRow) -> Snooze:
        return cls(
            row.id,
            row.subject_key,
            row.rule_id,
            row.fingerprint,
            row.case_id,
            row.alert_id,
            _utc(row.starts_at),
            _utc(row.expires_at),
            row.status,
            row.created_by,
            row.reason,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "starts_at": self.starts_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snooze:
        return cls(
            **{
                **data,
                "starts_at": datetime.fromisoformat(data["starts_at"]),
                "expires_at": datetime.fromisoformat(data["expires_at"]),
            }
        )

    def active_at(self, when: datetime) -> bool:
        return self.status == "active" and self.starts_at <= _utc(when) < self.expires_at


def _bump(s: Session) -> int:
    bumped = s.execute(
        update(SnoozeHeadRow).where(SnoozeHeadRow.id == 1).values(version=SnoozeHeadRow.version + 1)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        s.add(SnoozeHeadRow(id=1, version=1))
        s.flush()
        return 1
    return int(s.scalar(select(SnoozeHeadRow.version).where(SnoozeHeadRow.id == 1)) or 0)


def _log(s: Session, row: SnoozeRow, action: str, actor: str, note: str | None) -> int:
    version = _bump(s)
    s.flush()
    now = datetime.now(UTC)
    s.add(
        SnoozeChangeRow(
            version=version,
            snooze_id=row.id,
            action=action,
            actor=actor,
            at=now,
            state=Snooze.of(row).to_json(),
        )
    )
    s.add(
        AuditRow(
            at=now,
            actor=actor,
            action=f"snooze_{action}",
            target_type="snooze",
            target_id=str(row.id),
            alert_id=row.alert_id if action == "create" else None,
            after={
                "status": row.status,
                "version": version,
                "key": row.subject_key,
                "rule_id": row.rule_id,
                "case_id": row.case_id,
                "expires_at": _utc(row.expires_at).isoformat(),
            },
            note=note,
        )
    )
    return version


def _role(s: Session, username: str, roles: tuple[str, ...], what: str) -> None:
    user = s.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or not user.active or user.role not in roles:
        raise SnoozeError(what)


def create(
    *, alert_id: int, key: str, days: int, reason: str, actor: str, now: datetime | None = None
) -> Snooze:
    """Snooze the repeats of one alert: same key, rule and material facts, for ``days`` days."""
    from engine.cases.actions import case_of_alert
    from engine.cases.tables import CaseRow
    from engine.storage.tables import AlertRow, EventRow

    if not (reason or "").strip():
        raise SnoozeError("a snooze needs a reason")
    if not 1 <= days <= MAX_DAYS:
        raise SnoozeError(f"a snooze lasts 1 to {MAX_DAYS} days")
    start = _utc(now or datetime.now(UTC))
    with session_scope() as s:
        _role(s, actor, ("senior_officer",), "only an active senior officer snoozes alerts")
        alert = s.get(AlertRow, alert_id)
        if alert is None:
            raise SnoozeError(f"no alert {alert_id}")
        raw = s.scalar(select(EventRow.raw).where(EventRow.event_id == alert.event_id))
        violation = alert.violation or {}
        if key not in subject_keys(raw or {}, violation):
            raise SnoozeError("snooze by one of the alert's party or vessel keys")
        facts = material_facts(raw or {}, violation)
        mark = fingerprint(facts)
        duplicate = s.scalar(
            select(SnoozeRow.id).where(
                SnoozeRow.subject_key == key,
                SnoozeRow.rule_id == alert.rule_id,
                SnoozeRow.fingerprint == mark,
                SnoozeRow.status == "active",
                SnoozeRow.expires_at > start,
            )
        )
        if duplicate is not None:
            raise SnoozeError(f"snooze #{duplicate} already covers these facts")
        case_id = case_of_alert(s, alert_id)
        while case_id is not None:  # a merged case's occurrences belong to the one it joined
            case = s.get(CaseRow, case_id)
            if case is None or case.merged_into is None:
                break
            case_id = case.merged_into
        row = SnoozeRow(
            subject_key=key,
            rule_id=alert.rule_id,
            fingerprint=mark,
            facts=facts,
            alert_id=alert_id,
            case_id=case_id,
            reason=reason.strip(),
            days=days,
            starts_at=start,
            expires_at=start + timedelta(days=days),
            status="active",
            created_by=actor,
            created_at=start,
        )
        s.add(row)
        s.flush()
        _log(s, row, "create", actor, reason.strip())
        return Snooze.of(row)


def lift(snooze_id: int, actor: str, note: str) -> Snooze:
    if not (note or "").strip():
        raise SnoozeError("lifting a snooze needs a note")
    with session_scope() as s:
        _role(s, actor, ("officer", "senior_officer"), "only an active officer lifts a snooze")
        row = s.get(SnoozeRow, snooze_id, with_for_update=True, populate_existing=True)
        if row is None:
            raise SnoozeError(f"no snooze {snooze_id}")
        if row.status != "active":
            raise SnoozeError(f"a snooze that is {row.status} cannot be lifted")
        row.status, row.ended_by, row.ended_at = "lifted", actor, datetime.now(UTC)
        row.end_note = note.strip()
        _log(s, row, "lift", actor, note.strip())
        return Snooze.of(row)


def end_amended(references: list[str], actor: str = "list import") -> list[int]:
    """Active snoozes whose facts name a list entry a new snapshot amended end: the listed facts
    they were set on changed, so the next hit alerts (as an allowlist entry re-opens)."""
    refs = {r.strip() for r in references}
    ended: list[int] = []
    if not refs:
        return ended
    with session_scope() as s:
        for row in s.scalars(select(SnoozeRow).where(SnoozeRow.status == "active")):
            named = {e[0] for e in (row.facts or {}).get("entries", [])}
            if not named & refs:
                continue
            row.status, row.ended_by, row.ended_at = "ended", actor, datetime.now(UTC)
            row.end_note = f"list entry {', '.join(sorted(named & refs))} was amended"
            _log(s, row, "end", actor, row.end_note)
            ended.append(row.id)
    return ended


def rows(status: str | None = None) -> list[SnoozeRow]:
    with session_scope() as s:
        q = select(SnoozeRow).order_by(SnoozeRow.id.desc())
        if status:
            q = q.where(SnoozeRow.status == status)
        found = list(s.scalars(q))
        s.expunge_all()
        return found


def current_version(s: Session | None = None) -> int:
    q = select(SnoozeHeadRow.version).where(SnoozeHeadRow.id == 1)
    if s is not None:
        return s.scalar(q) or 0
    with session_scope() as own:
        return own.scalar(q) or 0


def snoozes_at(version: int) -> list[Snooze]:
    """The snoozes (any status) as they stood at ``version``."""
    if version <= 0:
        return []
    with session_scope() as s:
        found = s.execute(
            select(SnoozeChangeRow.snooze_id, SnoozeChangeRow.state)
            .where(SnoozeChangeRow.version <= version)
            .order_by(SnoozeChangeRow.version)
        ).all()
    newest: dict[int, dict[str, Any]] = {}
    for snooze_id, state in found:
        newest[snooze_id] = state
    return [Snooze.from_json(st) for st in newest.values()]

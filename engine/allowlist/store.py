"""Record, approve (four eyes), revoke and re-open allowlist entries; read the allowlist as it
stood at a version. Every change bumps the version and writes an audit_log row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.allowlist.tables import AllowlistChangeRow, AllowlistEntryRow, AllowlistHeadRow
from engine.approvals import routing
from engine.cases.keys import normal_name
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow, UserRow

_REFERENCE = re.compile(r"^[A-Z]{2}[ie]\.\d{3}$")
IDENTIFIER_KINDS = ("lei", "bic", "imo", "imo_company", "registration_number", "passport")


class AllowlistError(ValueError):
    """A refused allowlist change (message is safe to show)."""


@dataclass(frozen=True)
class Entry:
    """One entry as a snapshot holds it (also the JSON of its change rows)."""

    id: int
    list_reference: str
    party_name: str | None
    name_norm: str | None
    country: str | None
    identifiers: dict[str, str]
    scope_counterparty: str | None
    scope_source: str | None
    reason: str
    expires_on: date
    status: str
    created_by: str
    approved_by: str | None

    @classmethod
    def of(cls, row: AllowlistEntryRow) -> Entry:
        return cls(
            row.id,
            row.list_reference,
            row.party_name,
            row.name_norm,
            row.country,
            dict(row.identifiers or {}),
            row.scope_counterparty,
            row.scope_source,
            row.reason,
            row.expires_on,
            row.status,
            row.created_by,
            row.approved_by,
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "expires_on": self.expires_on.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(**{**data, "expires_on": date.fromisoformat(data["expires_on"])})

    def party(self) -> str:
        if self.identifiers:
            return ", ".join(f"{k} {v}" for k, v in sorted(self.identifiers.items()))
        return f"{self.party_name} ({self.country})"


def _bump(s: Session) -> int:
    bumped = s.execute(
        update(AllowlistHeadRow)
        .where(AllowlistHeadRow.id == 1)
        .values(version=AllowlistHeadRow.version + 1)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        s.add(AllowlistHeadRow(id=1, version=1))
        s.flush()
        return 1
    return int(s.scalar(select(AllowlistHeadRow.version).where(AllowlistHeadRow.id == 1)) or 0)


def current_version(s: Session | None = None) -> int:
    q = select(AllowlistHeadRow.version).where(AllowlistHeadRow.id == 1)
    if s is not None:
        return s.scalar(q) or 0
    with session_scope() as own:
        return own.scalar(q) or 0


def _log(s: Session, row: AllowlistEntryRow, action: str, actor: str, note: str | None) -> int:
    version = _bump(s)
    s.flush()
    entry = Entry.of(row)
    now = datetime.now(UTC)
    s.add(
        AllowlistChangeRow(
            version=version,
            entry_id=row.id,
            action=action,
            actor=actor,
            at=now,
            state=entry.to_json(),
        )
    )
    s.add(
        AuditRow(
            at=now,
            actor=actor,
            action=f"allowlist_{action}",
            target_type="allowlist",
            target_id=str(row.id),
            after={"status": row.status, "version": version, "list_reference": row.list_reference},
            note=note,
        )
    )
    return version


def _tell(s: Session, row: AllowlistEntryRow, requested_by: str, why: str, to: str | None) -> None:
    """The entry waits for a second senior officer: the notification outbox (issue 14)."""
    from engine.notify.events import allowlist_approval_requested

    s.flush()
    routed = None if to in (None, "", routing.POOL) else to
    allowlist_approval_requested(s.connection(), row, current_version(s), requested_by, why, routed)


def _senior(s: Session, username: str) -> None:
    user = s.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or not user.active or user.role != "senior_officer":
        raise AllowlistError("only an active senior officer records or approves allowlist entries")


def add(
    *,
    list_reference: str,
    reason: str,
    expires_on: date,
    actor: str,
    party_name: str | None = None,
    country: str | None = None,
    identifiers: dict[str, str] | None = None,
    scope_counterparty: str | None = None,
    scope_source: str | None = None,
    today: date | None = None,
    approver: str | None = None,
) -> Entry:
    """A senior officer records "party X is not list entry Y"; it clears nothing until another
    senior officer approves it: ``approver`` (routed to by name) or any other (None, the pool)."""
    ref = list_reference.strip()
    if not _REFERENCE.match(ref):
        raise AllowlistError(f"{ref!r} is not a UN list reference such as KPe.047")
    ids = {k: str(v).strip() for k, v in (identifiers or {}).items() if str(v or "").strip()}
    if any(k not in IDENTIFIER_KINDS for k in ids):
        raise AllowlistError(f"identifiers are {', '.join(IDENTIFIER_KINDS)}")
    name = (party_name or "").strip() or None
    cc = (country or "").strip().upper() or None
    if not ids and not (name and cc):
        raise AllowlistError("name the party by identifiers, or by exact name and country")
    if not (reason or "").strip():
        raise AllowlistError("an allowlist entry needs a reason")
    if expires_on <= (today or datetime.now(UTC).date()):
        raise AllowlistError("the expiry must lie in the future")
    with session_scope() as s:
        _senior(s, actor)
        row = AllowlistEntryRow(
            list_reference=ref,
            party_name=name,
            name_norm=normal_name(name) if name else None,
            country=cc,
            identifiers=ids or None,
            scope_counterparty=normal_name(scope_counterparty) if scope_counterparty else None,
            scope_source=(scope_source or "").strip() or None,
            reason=reason.strip(),
            expires_on=expires_on,
            status="pending",
            created_by=actor,
            created_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        _log(s, row, "record", actor, reason.strip())
        entry = Entry.of(row)
        try:
            routing.open_route(
                s,
                "allowlist",
                row.id,
                requested_by=actor,
                to=approver,
                title=f"allowlist entry #{row.id}: {entry.party()} is not {ref}",
            )
        except routing.RoutingError as exc:
            raise AllowlistError(str(exc)) from None
        _tell(s, row, actor, "record", approver)
        return entry


def _locked(s: Session, entry_id: int) -> AllowlistEntryRow:
    row = s.get(AllowlistEntryRow, entry_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise AllowlistError(f"no allowlist entry {entry_id}")
    return row


def approve(entry_id: int, actor: str, note: str | None = None) -> Entry:
    """The second pair of eyes (any active senior officer but the one who recorded it)."""
    with session_scope() as s:
        _senior(s, actor)
        row = _locked(s, entry_id)
        if row.status not in ("pending", "reopened"):
            raise AllowlistError(f"an entry that is {row.status} cannot be approved")
        if row.created_by == actor:
            raise AllowlistError("the senior officer who recorded the entry cannot approve it")
        try:
            routing.check_decider(s, "allowlist", row.id, actor)
        except routing.RoutingError as exc:
            raise AllowlistError(str(exc)) from None
        routing.settle(s, "allowlist", row.id, actor)
        row.status, row.approved_by, row.approved_at = "approved", actor, datetime.now(UTC)
        _log(s, row, "approve", actor, note)
        return Entry.of(row)


def revoke(entry_id: int, actor: str, reason: str) -> Entry:
    if not (reason or "").strip():
        raise AllowlistError("revoking needs a reason")
    with session_scope() as s:
        _senior(s, actor)
        row = _locked(s, entry_id)
        if row.status == "revoked":
            raise AllowlistError("the entry is revoked already")
        row.status, row.status_note = "revoked", reason.strip()
        routing.settle(s, "allowlist", row.id, actor)  # nothing left to approve
        _log(s, row, "revoke", actor, reason.strip())
        return Entry.of(row)


def reopen_amended(references: list[str], actor: str = "list import") -> list[int]:
    """Approved entries about list entries a new snapshot amended stop clearing until a senior
    officer approves them again (the listed facts they were judged against changed)."""
    refs = sorted({r.strip() for r in references})
    if not refs:
        return []
    reopened = []
    with session_scope() as s:
        rows = s.scalars(
            select(AllowlistEntryRow).where(
                AllowlistEntryRow.list_reference.in_(refs),
                AllowlistEntryRow.status == "approved",
            )
        ).all()
        for row in rows:
            row.status = "reopened"
            row.status_note = f"list entry {row.list_reference} was amended: approve it again"
            _log(s, row, "reopen", actor, row.status_note)
            entry = Entry.of(row)
            routing.open_route(  # to the pool: any senior but the one who recorded it
                s,
                "allowlist",
                row.id,
                requested_by=row.created_by,
                to=None,
                actor=actor,
                title=f"allowlist entry #{row.id} (re-opened): {entry.party()} is not "
                f"{row.list_reference}",
            )
            _tell(s, row, row.created_by, "reopen", None)
            reopened.append(row.id)
    return reopened


def entries(status: str | None = None) -> list[Entry]:
    with session_scope() as s:
        q = select(AllowlistEntryRow).order_by(AllowlistEntryRow.id.desc())
        if status:
            q = q.where(AllowlistEntryRow.status == status)
        return [Entry.of(r) for r in s.scalars(q)]


def get(entry_id: int) -> Entry | None:
    with session_scope() as s:
        row = s.get(AllowlistEntryRow, entry_id)
        return Entry.of(row) if row is not None else None


def history(entry_id: int) -> list[AllowlistChangeRow]:
    with session_scope() as s:
        rows = list(
            s.scalars(
                select(AllowlistChangeRow)
                .where(AllowlistChangeRow.entry_id == entry_id)
                .order_by(AllowlistChangeRow.version)
            )
        )
        s.expunge_all()
        return rows


def entries_at(version: int) -> list[Entry]:
    """The approved entries of the allowlist as it stood at ``version``."""
    if version <= 0:
        return []
    with session_scope() as s:
        rows = s.execute(
            select(AllowlistChangeRow.entry_id, AllowlistChangeRow.state)
            .where(AllowlistChangeRow.version <= version)
            .order_by(AllowlistChangeRow.version)
        ).all()
    newest: dict[int, dict[str, Any]] = {}
    for entry_id, state in rows:
        newest[entry_id] = state
    return [Entry.from_json(st) for st in newest.values() if st["status"] == "approved"]

"""Reading and changing the registers in the store: every change is a new register version.

Maker-checker: an entry is created ``pending`` and clears nothing until someone other than its
creator approves it (``approve``); who may approve (a senior officer, an API key of scope
``registers:approve``) is checked by the caller, the creator rule here. Revoking is final. Each
change writes one ``register_changes`` row (the version), updates ``register_entries`` and adds
an ``audit_log`` row, in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.registers.model import RegisterEntry
from engine.registers.tables import RegisterChangeRow, RegisterEntryRow, RegisterHeadRow
from engine.storage.db import session_scope
from engine.storage.desk_tables import AuditRow


class RegisterError(ValueError):
    """A refused change; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    v = _utc(value)
    return v.isoformat() if v is not None else None


@dataclass(frozen=True)
class StoredEntry:
    """An entry with its maker-checker state, as of some register version."""

    entry: RegisterEntry
    status: str  # pending | approved | revoked
    created_by: str
    created_at: datetime
    version: int  # the register version of its last change
    approved_by: str | None = None
    approved_at: datetime | None = None
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    @property
    def ref(self) -> str:
        return self.entry.ref

    def state(self) -> dict[str, Any]:
        """JSON form (the API body and the history rows)."""
        return {
            "entry": self.entry.model_dump(mode="json"),
            "status": self.status,
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "approved_by": self.approved_by,
            "approved_at": _iso(self.approved_at),
            "revoked_by": self.revoked_by,
            "revoked_at": _iso(self.revoked_at),
            "revoke_reason": self.revoke_reason,
            "version": self.version,
        }

    def to_json(self) -> dict[str, Any]:
        out = self.entry.model_dump(mode="json")
        out.update({k: v for k, v in self.state().items() if k != "entry"})
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StoredEntry:
        def dt(key: str) -> datetime | None:
            v = state.get(key)
            return datetime.fromisoformat(v) if v else None

        return cls(
            entry=RegisterEntry.model_validate(state["entry"]),
            status=state["status"],
            created_by=state["created_by"],
            created_at=dt("created_at") or datetime.now(UTC),
            version=int(state["version"]),
            approved_by=state.get("approved_by"),
            approved_at=dt("approved_at"),
            revoked_by=state.get("revoked_by"),
            revoked_at=dt("revoked_at"),
            revoke_reason=state.get("revoke_reason"),
        )

    @classmethod
    def from_row(cls, row: RegisterEntryRow) -> StoredEntry:
        return cls(
            entry=RegisterEntry.model_validate(row.data),
            status=row.status,
            created_by=row.created_by,
            created_at=_utc(row.created_at) or datetime.now(UTC),
            version=row.version,
            approved_by=row.approved_by,
            approved_at=_utc(row.approved_at),
            revoked_by=row.revoked_by,
            revoked_at=_utc(row.revoked_at),
            revoke_reason=row.revoke_reason,
        )


@dataclass(frozen=True)
class Change:
    version: int
    ref: str
    action: str
    actor: str
    at: datetime
    state: dict[str, Any]
    note: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "ref": self.ref,
            "action": self.action,
            "actor": self.actor,
            "at": _iso(self.at),
            "status": self.state.get("status"),
            "note": self.note,
        }


# -- versions --------------------------------------------------------------------------------------


def _next_version(s: Session) -> int:
    """Bump the head row FIRST in the transaction: the UPDATE takes the row lock (PostgreSQL) or
    the write lock (SQLite) before anything is read, so writers queue up and versions follow
    commit order; a refused change rolls back and consumes no version."""
    bumped = s.execute(
        update(RegisterHeadRow)
        .where(RegisterHeadRow.id == 1)
        .values(version=RegisterHeadRow.version + 1)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        s.add(RegisterHeadRow(id=1, version=1))
        s.flush()  # a concurrent first writer makes this fail; the caller retries
        return 1
    return int(s.scalar(select(RegisterHeadRow.version).where(RegisterHeadRow.id == 1)) or 0)


def current_version(session: Session | None = None) -> int:
    """The newest register version (0: nothing recorded yet)."""
    q = select(RegisterHeadRow.version).where(RegisterHeadRow.id == 1)
    if session is not None:
        return session.scalar(q) or 0
    with session_scope() as s:
        return s.scalar(q) or 0


def _write(
    s: Session, stored: StoredEntry, action: str, actor: str, note: str | None = None
) -> None:
    row = s.get(RegisterEntryRow, stored.ref)
    if row is None:
        row = RegisterEntryRow(ref=stored.ref)
        s.add(row)
    row.kind = stored.entry.kind
    row.regime = stored.entry.regime
    row.status = stored.status
    row.data = stored.entry.model_dump(mode="json")
    row.demo = stored.entry.demo
    row.created_by = stored.created_by
    row.created_at = stored.created_at
    row.approved_by = stored.approved_by
    row.approved_at = stored.approved_at
    row.revoked_by = stored.revoked_by
    row.revoked_at = stored.revoked_at
    row.revoke_reason = stored.revoke_reason
    row.version = stored.version
    now = datetime.now(UTC)
    s.add(
        RegisterChangeRow(
            version=stored.version,
            ref=stored.ref,
            action=action,
            actor=actor,
            at=now,
            state=stored.state(),
            note=note,
        )
    )
    s.add(
        AuditRow(
            at=now,
            actor=actor[:100],
            action=f"{stored.entry.kind}.{action}",
            target_type="exemption",
            target_id=stored.ref,
            after={"status": stored.status, "register_version": stored.version},
            note=note,
        )
    )


def _change(fn: Any) -> StoredEntry:
    """Run one change in its own transaction; retry once when two first writers race for the
    head row (or two creators for one ref: the retry then reports the ref as taken)."""
    for attempt in (1, 2):
        try:
            with session_scope() as s:
                return fn(s)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# -- changes ---------------------------------------------------------------------------------------


def add(entry: RegisterEntry, actor: str, note: str | None = None) -> StoredEntry:
    """Record a new entry, pending approval. A ref can be recorded once (revoked ones included:
    a ref cited by past shipments must keep meaning what it meant)."""

    def run(s: Session) -> StoredEntry:
        version = _next_version(s)
        if s.get(RegisterEntryRow, entry.ref) is not None:
            raise RegisterError(f"{entry.ref!r} is already in the register", 409)
        stored = StoredEntry(
            entry=entry,
            status="pending",
            created_by=actor,
            created_at=datetime.now(UTC),
            version=version,
        )
        _write(s, stored, "create", actor, note)
        return stored

    return _change(run)


def _locked(s: Session, ref: str) -> StoredEntry:
    row = s.scalar(select(RegisterEntryRow).where(RegisterEntryRow.ref == ref.strip()))
    if row is None:
        raise RegisterError(f"no register entry {ref!r}", 404)
    return StoredEntry.from_row(row)


def approve(ref: str, actor: str, note: str | None = None) -> StoredEntry:
    """Approve a pending entry (four eyes: never by its creator)."""

    def run(s: Session) -> StoredEntry:
        version = _next_version(s)
        cur = _locked(s, ref)
        if cur.status != "pending":
            raise RegisterError(f"{cur.ref!r} is {cur.status}, not pending approval", 409)
        if actor == cur.created_by:
            raise RegisterError(f"{actor} created {cur.ref!r} and cannot also approve it", 403)
        stored = StoredEntry(
            **{
                **cur.__dict__,
                "status": "approved",
                "approved_by": actor,
                "approved_at": datetime.now(UTC),
                "version": version,
            }
        )
        _write(s, stored, "approve", actor, note)
        return stored

    return _change(run)


def revoke(ref: str, actor: str, reason: str) -> StoredEntry:
    """Withdraw an entry (pending or approved): from the next version on it clears nothing."""
    if not reason or not reason.strip():
        raise RegisterError("a revocation needs a reason", 422)

    def run(s: Session) -> StoredEntry:
        version = _next_version(s)
        cur = _locked(s, ref)
        if cur.status == "revoked":
            raise RegisterError(f"{cur.ref!r} is already revoked", 409)
        stored = StoredEntry(
            **{
                **cur.__dict__,
                "status": "revoked",
                "revoked_by": actor,
                "revoked_at": datetime.now(UTC),
                "revoke_reason": reason.strip(),
                "version": version,
            }
        )
        _write(s, stored, "revoke", actor, reason.strip())
        return stored

    return _change(run)


# -- reading ---------------------------------------------------------------------------------------


def get(ref: str) -> StoredEntry | None:
    with session_scope() as s:
        row = s.get(RegisterEntryRow, ref.strip())
        return StoredEntry.from_row(row) if row is not None else None


def entries(
    status: str | None = None, kind: str | None = None, regime: str | None = None
) -> list[StoredEntry]:
    """Current entries, newest change first."""
    q = select(RegisterEntryRow).order_by(RegisterEntryRow.version.desc())
    if status:
        q = q.where(RegisterEntryRow.status == status)
    if kind:
        q = q.where(RegisterEntryRow.kind == kind)
    if regime:
        q = q.where(RegisterEntryRow.regime == regime)
    with session_scope() as s:
        return [StoredEntry.from_row(r) for r in s.scalars(q)]


def history(ref: str | None = None, limit: int | None = None) -> list[Change]:
    """Changes, oldest first (of one ref, or the whole register)."""
    q = select(RegisterChangeRow).order_by(RegisterChangeRow.version)
    if ref is not None:
        q = q.where(RegisterChangeRow.ref == ref.strip())
    if limit:
        q = q.order_by(None).order_by(RegisterChangeRow.version.desc()).limit(limit)
    with session_scope() as s:
        rows = [
            Change(r.version, r.ref, r.action, r.actor, _utc(r.at) or r.at, r.state, r.note)
            for r in s.scalars(q)
        ]
    return sorted(rows, key=lambda c: c.version)


# -- snapshots -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The register as it stood at one version (what a decision read)."""

    version: int
    entries: dict[str, StoredEntry] = field(default_factory=dict)

    def get(self, ref: str | None) -> StoredEntry | None:
        return self.entries.get(ref.strip()) if ref else None

    def __len__(self) -> int:
        return len(self.entries)


_SNAPSHOTS: dict[int, tuple[datetime | None, Snapshot]] = {}
_SNAP_LOCK = threading.Lock()
_MAX_SNAPSHOTS = 8


def snapshot(version: int | None = None) -> Snapshot:
    """The register at ``version`` (default: the newest), rebuilt from the change history.
    Versions never change once written, so snapshots are cached."""
    with session_scope() as s:
        head = current_version(s)
        v = head if version is None else version
        if v > head:
            raise RegisterError(f"register version {v} does not exist (newest is {head})", 404)
        # The change at v identifies the version (a test database reuses numbers once emptied).
        stamp = (
            s.scalar(select(RegisterChangeRow.at).where(RegisterChangeRow.version == v))
            if v
            else None
        )
        with _SNAP_LOCK:
            hit = _SNAPSHOTS.get(v)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        states: dict[str, dict[str, Any]] = {}
        for ref, state in s.execute(
            select(RegisterChangeRow.ref, RegisterChangeRow.state)
            .where(RegisterChangeRow.version <= v)
            .order_by(RegisterChangeRow.version)
        ):
            states[ref] = state
    snap = Snapshot(v, {ref: StoredEntry.from_state(st) for ref, st in states.items()})
    with _SNAP_LOCK:
        if len(_SNAPSHOTS) >= _MAX_SNAPSHOTS:
            _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))
        _SNAPSHOTS[v] = (stamp, snap)
    return snap


def import_entries(
    items: Iterable[RegisterEntry], actor: str, approver: str | None = None
) -> tuple[list[str], list[str]]:
    """Add entries not yet in the register (by ref); approve them as ``approver`` when given.
    Returns (added refs, skipped refs)."""
    added, skipped = [], []
    for e in items:
        if get(e.ref) is not None:
            skipped.append(e.ref)
            continue
        add(e, actor, note="imported")
        if approver is not None:
            approve(e.ref, approver, note="imported")
        added.append(e.ref)
    return added, skipped

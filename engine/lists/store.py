"""Reads and writes of list snapshots. A snapshot is written once (its sha256 is unique) and never
changed; diffs and delisting status are derived from the stored entries.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from engine.lists.diff import ChangeReport, diff_entries
from engine.lists.model import ListEntry, ParsedList
from engine.lists.tables import ListChangeRow, ListEntryRow, ListSnapshotRow
from engine.storage.db import get_engine
from engine.storage.repository import as_utc

SNAPSHOTS: Table = ListSnapshotRow.__table__  # type: ignore[assignment]
ENTRIES: Table = ListEntryRow.__table__  # type: ignore[assignment]
CHANGES: Table = ListChangeRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: int
    sha256: str
    date_generated: datetime
    imported_at: datetime
    source: str
    individuals: int
    entities: int
    regimes: dict[str, int]
    tags: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.date_generated:%Y-%m-%d} ({self.sha256[:12]})"


@dataclass(frozen=True, slots=True)
class Delisting:
    reference: str
    name: str
    regime: str
    last_listed_in: SnapshotInfo  # newest snapshot that still had the entry
    removed_in: SnapshotInfo  # the snapshot after it, which no longer has it


def _info(row) -> SnapshotInfo:
    return SnapshotInfo(
        id=row["id"],
        sha256=row["sha256"],
        date_generated=as_utc(row["date_generated"]),
        imported_at=as_utc(row["imported_at"]),
        source=row["source"],
        individuals=row["individuals"],
        entities=row["entities"],
        regimes=dict(row["regimes"]),
        tags=frozenset(row["tags"]),
    )


_INFO_COLS = [c for c in SNAPSHOTS.c if c.name != "raw_gz"]


def snapshots() -> list[SnapshotInfo]:
    """Every stored snapshot, oldest dateGenerated first."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(*_INFO_COLS).order_by(SNAPSHOTS.c.date_generated, SNAPSHOTS.c.id)
        ).mappings()
        return [_info(r) for r in rows]


def snapshot_by_sha(sha256: str) -> SnapshotInfo | None:
    with get_engine().connect() as conn:
        row = (
            conn.execute(select(*_INFO_COLS).where(SNAPSHOTS.c.sha256 == sha256)).mappings().first()
        )
    return _info(row) if row else None


def state_token() -> tuple[int, int]:
    """(count, max id) of snapshots: cheap to poll, changes whenever a snapshot is added."""
    with get_engine().connect() as conn:
        count, top = conn.execute(select(func.count(), func.max(SNAPSHOTS.c.id))).one()
    return int(count), int(top or 0)


def resolve(token: str) -> SnapshotInfo:
    """A snapshot named by id, sha256 prefix (>= 6 hex digits) or dateGenerated day (YYYY-MM-DD)."""
    token = token.strip()
    found = snapshots()
    matches = [s for s in found if token.isdigit() and s.id == int(token)]
    matches = matches or [
        s for s in found if len(token) >= 6 and s.sha256.startswith(token.lower())
    ]
    matches = matches or [s for s in found if f"{s.date_generated:%Y-%m-%d}" == token]
    if len(matches) != 1:
        raise LookupError(
            f"no snapshot {token!r}" if not matches else f"{token!r} names {len(matches)} snapshots"
        )
    return matches[0]


def entries(snapshot_id: int) -> list[ListEntry]:
    with get_engine().connect() as conn:
        data = conn.scalars(
            select(ENTRIES.c.data)
            .where(ENTRIES.c.snapshot_id == snapshot_id)
            .order_by(ENTRIES.c.id)
        )
        return [ListEntry.from_json(d) for d in data]


def raw_file(snapshot_id: int) -> bytes:
    with get_engine().connect() as conn:
        blob = conn.scalar(select(SNAPSHOTS.c.raw_gz).where(SNAPSHOTS.c.id == snapshot_id))
    if blob is None:
        raise LookupError(f"no snapshot {snapshot_id}")
    return zlib.decompress(blob)


def reconstruction_snapshots(version: str) -> list[SnapshotInfo] | None:
    """The snapshots a designation reconstruction ``version`` was built from. Snapshots are only
    ever added, so a screener always saw the first k of them in import order: the prefix whose
    reconstruction_version matches (None when no prefix does)."""
    from engine.lists.history import reconstruction_version

    by_import = sorted(snapshots(), key=lambda s: s.id)
    for k in range(len(by_import), 0, -1):
        if reconstruction_version([s.sha256 for s in by_import[:k]]) == version:
            return by_import[:k]
    return None


def previous_of(info: SnapshotInfo) -> SnapshotInfo | None:
    """The snapshot published just before ``info`` (by dateGenerated)."""
    before = [s for s in snapshots() if (s.date_generated, s.id) < (info.date_generated, info.id)]
    return before[-1] if before else None


def diff(a: SnapshotInfo, b: SnapshotInfo) -> ChangeReport:
    return diff_entries(entries(a.id), entries(b.id), a.tags, b.tags)


@dataclass(frozen=True, slots=True)
class Saved:
    snapshot: SnapshotInfo
    created: bool  # False: these bytes were stored before, nothing changed
    previous: SnapshotInfo | None = None  # the snapshot just before it by dateGenerated
    report: ChangeReport | None = None  # changes from ``previous`` to it


def save(parsed: ParsedList, source: str, raw: bytes) -> Saved:
    """Store a parsed file as a snapshot with its change report against the snapshot before it.
    The same bytes again (or a concurrent import of them) is a no-op returning the stored one."""
    existing = snapshot_by_sha(parsed.sha256)
    if existing is not None:
        return Saved(existing, False)
    regimes = Counter(e.regime for e in parsed.entries)
    try:
        with get_engine().begin() as conn:
            snap_id = conn.execute(
                SNAPSHOTS.insert()
                .values(
                    sha256=parsed.sha256,
                    date_generated=parsed.date_generated,
                    source=source,
                    individuals=parsed.individuals,
                    entities=parsed.entities,
                    regimes=dict(sorted(regimes.items())),
                    tags=sorted(parsed.tags),
                    raw_gz=zlib.compress(raw, 6),
                )
                .returning(SNAPSHOTS.c.id)
            ).scalar_one()
            conn.execute(
                ENTRIES.insert(),
                [
                    {
                        "snapshot_id": snap_id,
                        "dataid": e.dataid,
                        "reference": e.reference,
                        "regime": e.regime,
                        "kind": e.kind,
                        "name": e.name,
                        "data": e.to_json(),
                    }
                    for e in parsed.entries
                ],
            )
    except IntegrityError:
        existing = snapshot_by_sha(parsed.sha256)
        if existing is None:
            raise
        return Saved(existing, False)
    info = snapshot_by_sha(parsed.sha256)
    assert info is not None
    prev = previous_of(info)
    if prev is None:
        return Saved(info, True)
    report = diff_entries(entries(prev.id), parsed.entries, prev.tags, info.tags)
    _save_report(info, prev, report)
    return Saved(info, True, prev, report)


def _save_report(info: SnapshotInfo, prev: SnapshotInfo, report: ChangeReport) -> None:
    rows = [
        {
            "change": kind,
            "dataid": r.dataid,
            "reference": r.reference,
            "regime": r.regime,
            "name": r.name,
            "fields": [],
        }
        for kind, refs in (("added", report.added), ("removed", report.removed))
        for r in refs
    ] + [
        {
            "change": "amended",
            "dataid": a.entry.dataid,
            "reference": a.entry.reference,
            "regime": a.entry.regime,
            "name": a.entry.name,
            "fields": list(a.fields),
        }
        for a in report.amended
    ]
    if rows:
        with get_engine().begin() as conn:
            conn.execute(
                CHANGES.insert(),
                [{"snapshot_id": info.id, "previous_id": prev.id, **r} for r in rows],
            )


def stored_report(snapshot_id: int) -> list[dict]:
    """The change report written when ``snapshot_id`` was imported."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(
                CHANGES.c.change,
                CHANGES.c.dataid,
                CHANGES.c.reference,
                CHANGES.c.regime,
                CHANGES.c.name,
                CHANGES.c.fields,
                CHANGES.c.previous_id,
            )
            .where(CHANGES.c.snapshot_id == snapshot_id)
            .order_by(CHANGES.c.change, CHANGES.c.regime, CHANGES.c.reference)
        ).mappings()
        return [dict(r) for r in rows]


def delistings(references: Iterable[str]) -> dict[str, Delisting]:
    """For each list reference no longer in the newest snapshot: when it left the list.

    Delistings close no alert; the desk shows this beside open alerts that cite the reference.
    """
    refs = sorted({r.strip() for r in references if r and r.strip()})
    found = snapshots()
    if not refs or not found:
        return {}
    order = {s.id: i for i, s in enumerate(found)}
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(
                ENTRIES.c.reference, ENTRIES.c.snapshot_id, ENTRIES.c.name, ENTRIES.c.regime
            ).where(ENTRIES.c.reference.in_(refs))
        ).all()
    last: dict[str, tuple[int, str, str]] = {}
    for ref, snap_id, name, regime in rows:
        pos = order[snap_id]
        if ref not in last or pos > last[ref][0]:
            last[ref] = (pos, name, regime)
    out = {}
    for ref, (pos, name, regime) in last.items():
        if pos < len(found) - 1:
            out[ref] = Delisting(ref, name, regime, found[pos], found[pos + 1])
    return out


def reference_history(reference: str) -> list[tuple[SnapshotInfo, ListEntry | None]]:
    """Every snapshot, oldest first, with the entry under ``reference`` in it (None if absent);
    empty when no snapshot ever had the reference."""
    found = snapshots()
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(ENTRIES.c.snapshot_id, ENTRIES.c.data).where(
                ENTRIES.c.reference == reference.strip()
            )
        ).all()
    if not rows:
        return []
    by_snap = {sid: ListEntry.from_json(data) for sid, data in rows}
    return [(s, by_snap.get(s.id)) for s in found]


_REFERENCE = re.compile(r"\b[A-Z]{2}[ie]\.\d{3}\b")


def references_in(violation: dict[str, Any]) -> list[str]:
    """UN list references (KPe.047, QDi.437 ...) cited anywhere in a violation's JSON, in order:
    what an alert page passes to delistings() to show that a cited entry has left the list."""
    return list(dict.fromkeys(_REFERENCE.findall(json.dumps(violation, ensure_ascii=False))))

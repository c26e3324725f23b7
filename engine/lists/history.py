"""Designation history: who was on the UN list on a given day, reconstructed from every imported
snapshot rather than read off the nearest older one.

Snapshots are sparse (a bank imports today's file and backfills five years of events), so the
list in force on day D is rebuilt per entry from the evidence the snapshots hold:

- its ``LISTED_ON`` date (the newest snapshot's value: a later file may correct it), or the day of
  the first snapshot that has it when that is earlier;
- every snapshot's day, with the entry present or absent;
- its own amendment history (``LAST_DAY_UPDATED``): the UN amends only entries that are listed,
  so each amendment day is a day it was on the list.

An entry is LISTED on D when it was listed on or before D and the evidence around D says present.
Between a day it is known present and the next snapshot that lacks it, its removal is known only
to lie in that window: the entry stays, at lower confidence (``removal_window``), and the evidence
says so. Likewise an entry that appears in a snapshot although its listing date is older than the
snapshot before it (re-listed, or added when its regime's list came back) is in a
``listing_window`` between the two. Entries are keyed by their permanent reference number
(KPe.047), not by DATAID: the UN renumbers DATAIDs (KPe.068, HTi.002) without delisting anyone.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from engine.lists.model import ListEntry

Status = Literal["listed", "removal_window", "listing_window", "not_listed"]


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """What the history needs of one snapshot."""

    sha256: str
    date_generated: datetime
    entries: Sequence[ListEntry]

    @property
    def day(self) -> date:
        return self.date_generated.date()


@dataclass(frozen=True, slots=True)
class Standing:
    """An entry's designation status on one day, with the evidence for it."""

    status: Status
    window: tuple[date, date] | None = None  # (last day known in one state, first in the other)
    note: str = ""

    @property
    def in_force(self) -> bool:
        """Screening reports it (listed, or possibly listed inside a window)."""
        return self.status != "not_listed"

    @property
    def certain(self) -> bool:
        return self.status == "listed"


@dataclass(frozen=True, slots=True)
class Point:
    day: date
    present: bool
    what: str  # "snapshot 2020-12-01", "amended 2019-03-05", "LISTED_ON 2017-08-05"


@dataclass
class EntryHistory:
    key: str  # the reference number (DATAID only when an entry has none)
    entry: ListEntry  # its newest version
    start: date | None  # first day listed (None: not stated and present in the oldest snapshot)
    points: list[Point]  # evidence, by day; on one day "present" sorts before "absent"
    listed_on_values: list[tuple[date, date]] = field(default_factory=list)  # (LISTED_ON, seen in)
    amended_on: tuple[date, ...] = ()
    former_versions: tuple[ListEntry, ...] = ()  # older versions that differ from the newest
    _days: list[date] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._days = [p.day for p in self.points]

    def standing(self, day: date) -> Standing:
        if self.start is not None and day < self.start:
            return Standing("not_listed", note=f"listed only from {self.start}")
        pos = bisect.bisect_right(self._days, day)
        prev = self.points[pos - 1] if pos else None
        nxt = self.points[pos] if pos < len(self.points) else None
        listed_from = f"listed on {self.start}" if self.start else "on the oldest snapshot"
        if prev is None:  # no stated listing date and older than all evidence
            if nxt is not None and nxt.present:
                return Standing("listed", note=f"{listed_from} ({nxt.what})")
            return Standing("not_listed")
        if prev.present and (nxt is None or nxt.present or prev.day == day):
            return Standing("listed", note=listed_from)
        if prev.present:
            assert nxt is not None
            return Standing(
                "removal_window",
                (prev.day, nxt.day),
                f"removal known only to lie between {prev.day} ({prev.what}: still listed) and "
                f"{nxt.day} ({nxt.what}: no longer listed); possibly still designated on {day}",
            )
        if nxt is not None and nxt.present:
            return Standing(
                "listing_window",
                (prev.day, nxt.day),
                f"absent from {prev.what} but listed in {nxt.what} although {listed_from}: "
                f"(re-)listing known only to lie between {prev.day} and {nxt.day}",
            )
        return Standing("not_listed", note=f"not listed since {prev.what}")

    @property
    def removed(self) -> tuple[date, date] | None:
        """(last day known listed, first snapshot day without it) when it is off the list now."""
        last = self.points[-1] if self.points else None
        if last is None or last.present:
            return None
        known = [p for p in self.points if p.present]
        return (known[-1].day if known else last.day, last.day)


def reconstruction_version(shas: Sequence[str]) -> str:
    """Identity of a reconstruction: the set of snapshots it was built from (never equal to a
    snapshot's own sha256, so a decision pinned to one snapshot keeps meaning that)."""
    return hashlib.sha256(("un-designations\n" + "\n".join(sorted(shas))).encode()).hexdigest()


def _key(e: ListEntry) -> str:
    return e.reference.strip() or f"DATAID {e.dataid}"


def _amendments(e: ListEntry) -> set[date]:
    out = set()
    for v in e.fields.get("LAST_DAY_UPDATED", []) + e.fields.get("LAST_DAY_UPDATED/VALUE", []):
        try:
            out.add(date.fromisoformat(str(v).strip()[:10]))
        except ValueError:
            continue  # unreadable amendment dates are not evidence
    return out


@dataclass
class DesignationHistory:
    version: str
    snapshots: list[tuple[str, date]]  # (sha256, day), oldest first
    entries: list[EntryHistory]

    @property
    def newest_generated(self) -> date | None:
        return self.snapshots[-1][1] if self.snapshots else None

    def by_key(self) -> dict[str, EntryHistory]:
        return {h.key: h for h in self.entries}


def build_history(files: Sequence[SnapshotFile]) -> DesignationHistory:
    """The history of every entry any of ``files`` holds (order of ``files`` does not matter)."""
    files = sorted(files, key=lambda f: (f.date_generated, f.sha256))
    versions: dict[str, list[tuple[int, ListEntry]]] = {}
    for i, f in enumerate(files):
        for e in f.entries:
            versions.setdefault(_key(e), []).append((i, e))
    out = []
    for key, seen in versions.items():
        present = {i for i, _ in seen}
        newest = seen[-1][1]
        amended = set().union(*(_amendments(e) for _, e in seen))
        stated = next((e.listed_on for _, e in reversed(seen) if e.listed_on), None)
        first_day = files[seen[0][0]].day
        start = min(stated, first_day) if stated else None
        points = [
            Point(f.day, i in present, f"snapshot {f.day}")
            for i, f in enumerate(files)
            if start is None or f.day >= start or i in present
        ]
        points += [Point(d, True, f"amended {d}") for d in amended if start is None or d >= start]
        if start is not None:
            points.append(Point(start, True, f"LISTED_ON {start}"))
        points.sort(key=lambda p: (p.day, not p.present))
        out.append(
            EntryHistory(
                key=key,
                entry=newest,
                start=start,
                points=points,
                listed_on_values=sorted(
                    {(e.listed_on, files[i].day) for i, e in seen if e.listed_on},
                    key=lambda t: t[1],
                ),
                amended_on=tuple(sorted(amended)),
                former_versions=tuple(
                    {e.name + repr(e.aliases): e for _, e in seen[:-1] if e != newest}.values()
                ),
            )
        )
    out.sort(key=lambda h: h.key)
    return DesignationHistory(
        reconstruction_version([f.sha256 for f in files]),
        [(f.sha256, f.day) for f in files],
        out,
    )

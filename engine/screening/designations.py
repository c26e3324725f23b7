"""The screening index of a designation history (engine.lists.history): every entry any imported
snapshot holds, indexed once, and each hit kept only on days its entry was in force.

A hit inside a removal or (re-)listing window is kept at lower confidence and its explanation
says between which days the change is known to lie; a hit on a day the entry was not (or no
longer) listed is dropped. The version is the reconstruction's (engine.lists.history
.reconstruction_version), which decisions record and replays pin.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

from engine.lists.history import DesignationHistory, EntryHistory, SnapshotFile, build_history
from engine.lists.model import Alias, ListEntry
from engine.models.screening import ScreeningHit


@dataclass
class DesignationIndex:
    """A SnapshotIndex over the newest version of every entry of a history, plus that history."""

    history: DesignationHistory
    index: object  # engine.screening.service.SnapshotIndex (import cycle otherwise)
    by_reference: dict[str, EntryHistory] = field(default_factory=dict)

    @classmethod
    def build(cls, history: DesignationHistory) -> DesignationIndex:
        from engine.screening.service import SnapshotIndex

        newest = history.snapshots[-1] if history.snapshots else None
        generated = datetime.combine(newest[1], time(), UTC) if newest else datetime.min
        idx = SnapshotIndex.build(
            history.version, generated, [_with_former_names(h) for h in history.entries]
        )
        return cls(history, idx, {h.entry.reference: h for h in history.entries})

    def on_day(self, hits: list[ScreeningHit], day: date) -> list[ScreeningHit]:
        """The hits of entries in force on ``day``, annotated with their standing."""
        out = []
        for h in hits:
            if h.entry_kind == "vessel" or h.list_version != self.history.version:
                out.append(h)
                continue
            entry = self.by_reference.get(h.reference)
            if entry is None:
                out.append(h)
                continue
            st = entry.standing(day)
            if not st.in_force:
                continue
            since = f"{h.reference} listed on {entry.start}" if entry.start else ""
            if st.certain:
                text = f"{h.explanation}; {since}" if since else h.explanation
                out.append(h.model_copy(update={"explanation": text, "listed_on": entry.start}))
            else:
                out.append(
                    h.model_copy(
                        update={
                            "explanation": f"{h.explanation}; {st.note}",
                            "listed_on": entry.start,
                            "designation_status": st.status,
                            "designation_window": list(st.window) if st.window else None,
                        }
                    )
                )
        return out


def _with_former_names(h: EntryHistory) -> ListEntry:
    """The newest version, with the names and aliases older snapshots spelled differently as
    aliases: an event of 2018 may use the 2018 list's spelling."""
    known = {h.entry.name, *(a.name for a in h.entry.aliases)}
    extra = []
    for old in h.former_versions:
        for a in (Alias(old.name, ""), *old.aliases):
            if a.name and a.name not in known:
                known.add(a.name)
                extra.append(a)
    return replace(h.entry, aliases=h.entry.aliases + tuple(extra)) if extra else h.entry


class LazyDesignations:
    """A reconstruction built on first use (loading every snapshot of it); thread-safe."""

    def __init__(
        self,
        version: str,
        date_generated: datetime | None,  # of the newest snapshot
        load: Callable[[], Sequence[SnapshotFile]],
    ) -> None:
        self.version = version
        self.date_generated = date_generated
        self._load = load
        self._built: DesignationIndex | None = None
        self._lock = threading.Lock()

    def designations(self) -> DesignationIndex:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    history = build_history(self._load())
                    if history.version != self.version:
                        raise LookupError(
                            f"designation reconstruction {self.version} could not be rebuilt"
                        )
                    self._built = DesignationIndex.build(history)
                    gc.freeze()  # long-lived: keep the GC from rescanning it
        return self._built

    def index(self):
        return self.designations().index


def from_files(files: Sequence[SnapshotFile]) -> LazyDesignations:
    """An eagerly built reconstruction over in-memory snapshots (tests, bench, retro)."""
    history = build_history(files)
    newest = max(files, key=lambda f: f.date_generated) if files else None
    lazy = LazyDesignations(
        history.version, newest.date_generated if newest else None, lambda: files
    )
    lazy._built = DesignationIndex.build(history)
    return lazy

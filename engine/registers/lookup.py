"""The registers as the evaluator reads them: one snapshot (one register version) per batch.

``SnapshotRegister`` answers the evaluator's ``ExemptionLookup`` questions from a snapshot of
the store; ``StoredRegisters`` hands out the newest snapshot (a worker sees an approval made a
moment ago without a restart) or a pinned one for a replay.
"""

from __future__ import annotations

from datetime import datetime

from engine.models.events import Event
from engine.registers.checking import Check, check
from engine.registers.store import Snapshot, StoredEntry, snapshot


class SnapshotRegister:
    def __init__(self, snap: Snapshot) -> None:
        self.snapshot = snap

    @property
    def version(self) -> int:
        return self.snapshot.version

    def __len__(self) -> int:
        return len(self.snapshot)

    def stored(self, ref: str | None) -> StoredEntry | None:
        return self.snapshot.get(ref)

    def check(
        self, ref: str | None, kind: str, rule_id: str, regime: str, event: Event | None
    ) -> Check:
        found = self.snapshot.get(ref)
        return check(
            found.entry if found is not None else None,
            found.status if found is not None else None,
            ref,
            kind,
            rule_id,
            regime,
            event,
        )

    def status(
        self,
        ref: str | None,
        kind: str,
        rule_id: str,
        regime: str,
        at: datetime,
        event: Event | None = None,
    ) -> str:
        found = self.snapshot.get(ref)
        return check(
            found.entry if found is not None else None,
            found.status if found is not None else None,
            ref,
            kind,
            rule_id,
            regime,
            event,
            at=at,
        ).status

    def entry(self, ref: str | None) -> StoredEntry | None:
        return self.snapshot.get(ref)


class StoredRegisters:
    """Provider of register snapshots from the store."""

    def current(self) -> SnapshotRegister:
        return SnapshotRegister(snapshot())

    def at(self, version: int) -> SnapshotRegister:
        return SnapshotRegister(snapshot(version))


def default_registers() -> StoredRegisters:
    return StoredRegisters()

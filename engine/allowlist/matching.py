"""Apply the allowlist to screening hits: the small interface between the decision path and the
allowlist. ``source.current()`` gives one snapshot per batch; ``snapshot.apply(event, hits)``
returns the hits that still count and a note for each one set aside. A decision that had hits
records the snapshot's version (replay reads that version: ``PinnedAllowlist``).

Screening itself (engine.screening) is untouched: its hits are produced as always and judged here.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.allowlist.store import Entry, current_version, entries_at
from engine.cases.keys import at_path, normal_name
from engine.models.events import Event
from engine.models.screening import ScreeningHit


def _identifiers(party: Any) -> dict[str, str]:
    ids = party.get("identifiers") if isinstance(party, dict) else None
    if not isinstance(ids, dict):
        return {}
    return {k: "".join(str(v).split()).upper() for k, v in ids.items() if v}


def _names(raw: dict[str, Any]) -> set[str]:
    """Normalised names of every party of the event (the counterparty scope looks here)."""
    names = set()
    body = raw.get(raw.get("event_type", ""), {})
    if isinstance(body, dict):
        for p in body.get("parties") or []:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                names.add(normal_name(p["name"]))
        if isinstance(body.get("name"), str):
            names.add(normal_name(body["name"]))
    return names


@dataclass
class Snapshot:
    version: int
    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_ref: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries:
            self._by_ref[e.list_reference].append(e)

    def matches(self, entry: Entry, raw: dict[str, Any], hit: ScreeningHit) -> bool:
        if raw["occurred_at"][:10] > entry.expires_on.isoformat():
            return False  # expired on the event's day (its own date: a replay decides alike)
        if entry.scope_source and raw.get("source") != entry.scope_source:
            return False
        if entry.scope_counterparty and entry.scope_counterparty not in _names(raw):
            return False
        party = at_path(raw, hit.path)
        if not isinstance(party, dict):
            return False
        if entry.identifiers:
            have = _identifiers(party)
            want = {k: "".join(v.split()).upper() for k, v in entry.identifiers.items()}
            return any(have.get(k) == v for k, v in want.items())
        name = party.get("name")
        country = party.get("country") or party.get("nationality")
        return (
            isinstance(name, str)
            and normal_name(name) == entry.name_norm
            and str(country or "").upper() == (entry.country or "")
        )

    def apply(
        self, event: Event, hits: Sequence[ScreeningHit]
    ) -> tuple[list[ScreeningHit], list[str]]:
        if not self._by_ref or not any(h.reference.strip() in self._by_ref for h in hits):
            return list(hits), []
        raw = event.model_dump(mode="json", exclude_none=True)
        kept, notes = [], []
        for hit in hits:
            entry = next(
                (
                    e
                    for e in self._by_ref.get(hit.reference.strip(), [])
                    if self.matches(e, raw, hit)
                ),
                None,
            )
            if entry is None:
                kept.append(hit)
                continue
            notes.append(
                f"Screening hit on {hit.reference.strip()} ({hit.entry_name}) for "
                f"'{hit.queried}' at {hit.path} set aside as a known false positive: allowlist "
                f"entry #{entry.id} (version {self.version}, approved by {entry.approved_by}, "
                f"expires {entry.expires_on.isoformat()}): {entry.reason}"
            )
        return kept, list(dict.fromkeys(notes))


class StoredAllowlist:
    """The newest allowlist in the store: one head read per batch, entries cached by version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = Snapshot(0)

    def current(self) -> Snapshot:
        version = current_version()
        with self._lock:
            if version != self._snap.version:
                self._snap = Snapshot(version, entries_at(version))
            return self._snap


class PinnedAllowlist:
    """The allowlist as a decision read it (replay)."""

    def __init__(self, version: int) -> None:
        self._snap = Snapshot(version, entries_at(version))

    def current(self) -> Snapshot:
        return self._snap

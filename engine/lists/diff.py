"""Change report between two list snapshots, by DATAID (delisted entries simply disappear)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.lists.model import ListEntry


@dataclass(frozen=True, slots=True)
class EntryRef:
    dataid: str
    reference: str
    regime: str
    kind: str
    name: str

    @classmethod
    def of(cls, entry: ListEntry) -> EntryRef:
        return cls(entry.dataid, entry.reference, entry.regime, entry.kind, entry.name)


@dataclass(frozen=True, slots=True)
class Amendment:
    entry: EntryRef
    fields: tuple[str, ...]  # XML element names whose content changed


@dataclass(slots=True)
class ChangeReport:
    added: list[EntryRef] = field(default_factory=list)
    removed: list[EntryRef] = field(default_factory=list)
    amended: list[Amendment] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "amended": len(self.amended),
        }

    def by_regime(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for kind, refs in (
            ("added", self.added),
            ("removed", self.removed),
            ("amended", [a.entry for a in self.amended]),
        ):
            for ref in refs:
                out.setdefault(ref.regime, {"added": 0, "removed": 0, "amended": 0})[kind] += 1
        return dict(sorted(out.items()))


def _comparable(values: list[Any], path: str, common: frozenset[str]) -> list[str]:
    """Canonical, order-free form of one field; sub-fields only one file format has are dropped."""
    out = []
    for v in values:
        if isinstance(v, dict):
            v = {k: x for k, x in v.items() if f"{path}/{k}" in common}
            if not v:
                continue
        out.append(json.dumps(v, sort_keys=True, ensure_ascii=False))
    return sorted(out)


def changed_fields(old: ListEntry, new: ListEntry, common: frozenset[str]) -> tuple[str, ...]:
    paths = (set(old.fields) | set(new.fields)) & common
    return tuple(
        sorted(
            p
            for p in paths
            if _comparable(old.fields.get(p, []), p, common)
            != _comparable(new.fields.get(p, []), p, common)
        )
    )


def diff_entries(
    old: Iterable[ListEntry],
    new: Iterable[ListEntry],
    old_tags: frozenset[str],
    new_tags: frozenset[str],
) -> ChangeReport:
    """Additions, removals and amendments from ``old`` to ``new``.

    Element paths that only one of the two files has (INTERPOL_LINK, DATE_OF_EXPIRY,
    SUBMITTED_ON ...) are format changes, not amendments, so only common paths are compared.
    """
    before = {e.dataid: e for e in old}
    after = {e.dataid: e for e in new}
    common = old_tags & new_tags
    report = ChangeReport()
    for dataid, entry in after.items():
        if dataid not in before:
            report.added.append(EntryRef.of(entry))
        else:
            fields = changed_fields(before[dataid], entry, common)
            if fields:
                report.amended.append(Amendment(EntryRef.of(entry), fields))
    report.removed = [EntryRef.of(e) for d, e in before.items() if d not in after]
    key = lambda r: (r.regime, r.reference)  # noqa: E731
    report.added.sort(key=key)
    report.removed.sort(key=key)
    report.amended.sort(key=lambda a: key(a.entry))
    return report

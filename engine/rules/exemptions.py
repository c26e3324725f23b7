"""Exemption / notification lookups the evaluator reads (rules/README.md §8).

Two implementations: ``engine.registers.lookup.SnapshotRegister`` (the registers officers keep in
the store, one version per batch: what the worker uses) and ``ExemptionRegister`` below, the
register of rule examples and of rule packs stored before the registers moved to the store
(``exemptions.yaml`` inside a stored pack, so those decisions replay as they were). Its entries
need no approval and their parties / goods are informational, exactly as they were then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from engine.rules.schema import ExemptionEntry, end_utc, start_utc


class ExemptionLookup(Protocol):
    """What the evaluator needs from a register (any object with this method will do)."""

    def status(
        self,
        ref: str | None,
        kind: str,
        rule_id: str,
        regime: str,
        at: datetime,
        event: Any = None,
    ) -> str:
        """One of none, valid, expired, not_yet_valid, unknown, not_covering (and, for the
        stored registers, not_approved, revoked, mismatch)."""
        ...

    def entry(self, ref: str | None) -> Any: ...


class ExemptionRegister:
    def __init__(self, entries: Iterable[ExemptionEntry] = ()) -> None:
        self._entries: dict[str, ExemptionEntry] = {}
        for e in entries:
            if e.ref.strip() in self._entries:
                raise ValueError(f"exemption register: duplicate ref {e.ref!r}")
            self._entries[e.ref.strip()] = e

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, ref: str | None) -> ExemptionEntry | None:
        return self._entries.get(ref.strip()) if ref else None

    def status(
        self,
        ref: str | None,
        kind: str,
        rule_id: str,
        regime: str,
        at: datetime,
        event: Any = None,
    ) -> str:
        if not ref or not ref.strip():
            return "none"
        e = self._entries.get(ref.strip())
        if e is None or e.kind != kind:
            return "unknown"
        if e.regime != regime or (e.covers and rule_id not in e.covers):
            return "not_covering"
        if at < start_utc(e.valid_from):
            return "not_yet_valid"
        if e.valid_to is not None and at >= end_utc(e.valid_to):
            return "expired"
        return "valid"

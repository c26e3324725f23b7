"""The small interfaces the evaluator takes from other areas (screening, caps ledger, register)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from engine.models.events import Event
from engine.models.screening import ScreeningHit
from engine.rules.exemptions import ExemptionLookup
from engine.rules.schema import Cap, CapUsage

__all__ = ["CapsProvider", "ExemptionLookup", "Screener", "Cap", "CapUsage"]


@runtime_checkable
class Screener(Protocol):
    def screen(self, event: Event) -> list[ScreeningHit]: ...

    def version_at(self, when: datetime) -> str | None: ...


@runtime_checkable
class CapsProvider(Protocol):
    """Running totals for quantity caps, kept outside the rule engine (engine/rules/caps.py).

    ``usage`` returns, in ``cap.unit``: ``prior`` = quantity already counted against this cap in
    its period before this goods line (stored events + earlier lines of this event), ``this`` =
    this line converted to the cap's unit; or None when it cannot be computed (unconvertible unit,
    missing quantity). It is called for every goods line of an event type the cap rule applies to;
    lines the rule does not select are ignored whatever it returns.
    """

    def usage(self, rule_id: str, cap: Cap, event: Event, line: int) -> CapUsage | None: ...

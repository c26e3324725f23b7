"""The registers as one evaluation batch sees them: one snapshot, read lazily, then fixed.

``BatchRegister`` is the evaluator's ExemptionLookup when it reads the stored registers: the
first question of a batch reads the newest snapshot (or the pinned one of a replay) and every
later question of the batch gets the same version, which the decisions of the events that read
it record. ``BatchCaps`` gives the caps ledger the same snapshot, so approved notifications count
against the caps exactly as the decision records. ``notes`` says, per decision, what the
register said: the cited entries and the running totals of notified supplies against caps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from engine.models.decisions import citation_text
from engine.models.events import Event
from engine.registers.checking import Check
from engine.registers.lookup import SnapshotRegister
from engine.rules.schema import Cap, CapUsage, FixedPeriod, Rule


class RegisterSource(Protocol):
    def current(self) -> SnapshotRegister: ...


class PinnedRegisters:
    """A source that always answers one version (replays)."""

    def __init__(self, version: int) -> None:
        self.version = version

    def current(self) -> SnapshotRegister:
        from engine.registers.lookup import StoredRegisters

        return StoredRegisters().at(self.version)


class BatchRegister:
    def __init__(self, source: RegisterSource) -> None:
        self.source = source
        self._reg: SnapshotRegister | None = None

    def reset(self) -> None:
        """A new batch: the next question reads the register again."""
        self._reg = None

    @property
    def read(self) -> bool:
        return self._reg is not None

    @property
    def current(self) -> SnapshotRegister:
        if self._reg is None:
            self._reg = self.source.current()
        return self._reg

    @property
    def version(self) -> int | None:
        return self._reg.version if self._reg is not None else None

    def status(
        self,
        ref: str | None,
        kind: str,
        rule_id: str,
        regime: str,
        at: datetime,
        event: Event | None = None,
    ) -> str:
        if not ref or not ref.strip():
            return "none"  # nothing cited: no need to read the register
        return self.current.status(ref, kind, rule_id, regime, at, event)

    def check(
        self, ref: str | None, kind: str, rule_id: str, regime: str, event: Event | None
    ) -> Check:
        return self.current.check(ref, kind, rule_id, regime, event)

    def entry(self, ref: str | None) -> Any:
        return self.current.entry(ref) if ref else None


class BatchCaps:
    """The caps ledger with the batch's register snapshot; remembers which events it was asked
    about (their decisions depend on the register version)."""

    def __init__(self, caps: Any, register: BatchRegister) -> None:
        self.caps = caps
        self.register = register
        self.asked: set[str] = set()
        # (register snapshot, the caps' ledger of the moment, the ledger over both)
        self._ledger: tuple[Any, Any, Any] | None = None

    def ledger(self) -> Any:
        if not hasattr(self.caps, "with_register"):
            return self.caps
        current = self.register.current
        # A period replay's caps (AsOfCaps) move their cut-off per batch: `current` is then the
        # ledger of this batch's moment, and one built over an earlier moment is stale.
        base = getattr(self.caps, "current", self.caps)
        # One ledger per snapshot and cut-off, not per question: building one (and losing its
        # per-event caches) was most of the cost of a cap question.
        if self._ledger is None or self._ledger[0] is not current or self._ledger[1] is not base:
            self._ledger = (current, base, self.caps.with_register(current))
        return self._ledger[2]

    def usage(self, rule_id: str, cap: Cap, event: Event, line: int) -> CapUsage | None:
        self.asked.add(event.event_id)
        return self.ledger().usage(rule_id, cap, event, line)

    def replaying(self, as_of: datetime) -> Any:
        """The underlying ledger as of a decision's time (a replay pins its own register)."""
        return self.caps.replaying(as_of) if hasattr(self.caps, "replaying") else self.caps


def _period_text(cap: Cap, at: datetime) -> str:
    if isinstance(cap.period, FixedPeriod):
        return f"{cap.period.from_}..{cap.period.to}"
    if cap.period == "calendar_year":
        return f"calendar year {at.year}"
    return "the 12 months before the event"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"


def notes(
    event: Event, register: BatchRegister, caps: BatchCaps | None, rules: Iterable[Rule]
) -> list[str]:
    """What the register (at the batch's version) said about this event, in words."""
    s = event.shipment
    if not register.read:
        return []
    out: list[str] = []
    v = register.version
    cited = []
    for kind in ("exemption", "notification"):
        ref = (s.exemption_ref if kind == "exemption" else s.notification_ref) if s else None
        if not ref or not ref.strip():
            continue
        found = register.current.stored(ref)
        cited.append(found)
        if found is None:
            out.append(f"{kind}_ref {ref.strip()!r} is not in the register (version {v}).")
            continue
        e = found.entry
        basis = f" under {citation_text(e.basis)}" if e.basis else ""
        holder = f", holder {e.holder.name}" if e.holder else ""
        state = "awaiting approval" if found.status == "pending" else found.status
        out.append(
            f"{kind}_ref {e.ref!r} (register version {v}): {state} {e.kind}{basis}{holder}, "
            f"valid {e.valid_from} to {e.valid_to or 'open-ended'}, covers "
            f"{', '.join(e.covers) or 'every ' + e.regime + ' measure'}"
            + (" (DEMO entry, not a Committee decision)" if e.demo else "")
            + "."
        )
    if caps is None or not hasattr(caps.caps, "with_register"):
        return out
    ledger = caps.ledger()
    from engine.rules.caps import counts_toward
    from engine.rules.conditions import in_force

    for rule in rules:
        if rule.cap is None or not in_force(rule, event.occurred_at):
            continue
        if event.event_type.value not in rule.applies_to:
            continue
        notified = ledger.notifications(rule, rule.cap, event.occurred_at)
        counting = [
            c
            for c in cited
            if c is not None
            and c.status == "approved"
            and counts_toward(rule, c.entry, ledger.rule)
        ]
        if not notified and not counting:
            continue
        lines = ledger.counted_lines(rule, rule.cap, event)
        last = lines[-1][0] if lines else None
        got = ledger.notified(rule.id, rule.cap, event, last) if last is not None else None
        unit = rule.cap.unit.value
        text = (
            f"Notified supplies counting toward the {_num(rule.cap.amount)} {unit} cap of "
            f"{rule.citation} ({_period_text(rule.cap, event.occurred_at)}): "
            f"{_num(sum(notified.values()))} {unit} in {len(notified)} approved "
            f"notification{'s' if len(notified) != 1 else ''} (register version {v})"
        )
        if got is not None and got.total is not None:
            text += (
                f"; running total with the supplies this engine saw, after this event: "
                f"{_num(got.total)} {unit} of {_num(rule.cap.amount)}"
            )
        out.append(text + ".")
    return out

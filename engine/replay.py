"""Replays and impact analysis against exact rule pack versions.

- ``ensure_pack_stored(session=None, pack=None) -> version``: record a pack's full text in the
  ``rule_packs`` table (idempotent). The pipeline calls it once per process (``ensure_pack_stored(pack)``
  is accepted too).
- ``replay(event_id, screener=None, caps=None) -> ReplayResult``: re-run a stored event against the
  rule pack version its decision recorded, rebuilt from the stored text, and compare.
- ``impact(old_pack, new_pack, events) -> ImpactReport``: which decisions a changed pack changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models.decisions import Decision
from engine.models.events import Event
from engine.rules.loader import RulePack, pack_from_files

_CACHE_LOCK = threading.Lock()
_EVALUATORS: dict[str, Any] = {}  # pack version -> Evaluator (without screener/caps)
_MAX_CACHED = 4


def _session_arg(session: Any, pack: Any) -> tuple[Session | None, RulePack | None]:
    if isinstance(session, RulePack):  # ensure_pack_stored(pack)
        return None, session
    return session, pack


def ensure_pack_stored(
    session: Session | RulePack | None = None, pack: RulePack | None = None
) -> str:
    """Store the pack (version -> files) unless it is already there. Returns the version."""
    from engine.storage.tables import RulePackRow

    sess, pack = _session_arg(session, pack)
    if pack is None:
        from engine.rules.evaluator import default_evaluator

        pack = default_evaluator().pack

    def _store(s: Session) -> None:
        if s.get(RulePackRow, pack.version) is None:
            s.add(
                RulePackRow(
                    version=pack.version, files=dict(pack.files), created_at=datetime.now(UTC)
                )
            )
            s.flush()

    if sess is not None:
        _store(sess)
        return pack.version
    from sqlalchemy.exc import IntegrityError

    from engine.storage.db import session_scope

    try:
        with session_scope() as s:
            _store(s)
    except IntegrityError:  # another worker stored the same version at the same moment
        pass
    return pack.version


def load_stored_pack(version: str, session: Session | None = None) -> RulePack:
    from engine.storage.tables import RulePackRow

    def _load(s: Session) -> RulePack:
        row = s.get(RulePackRow, version)
        if row is None:
            raise LookupError(f"rule pack {version} is not stored")
        pack = pack_from_files(row.files)
        if pack.version != version:
            raise ValueError(
                f"stored rule pack {version} rebuilds as {pack.version}: stored text altered"
            )
        return pack

    if session is not None:
        return _load(session)
    from engine.storage.db import session_scope

    with session_scope() as s:
        return _load(s)


def _evaluator_for(
    pack: RulePack,
    screener: Any = None,
    caps: Any = None,
    registers: Any = None,
    allowlist: Any = None,
    history: Any = None,
) -> Any:
    from engine.rules.evaluator import Evaluator

    if any(x is not None for x in (screener, caps, registers, allowlist, history)):
        return Evaluator(
            pack,
            screener=screener,
            caps=caps,
            registers=registers,
            allowlist=allowlist,
            history=history,
        )
    with _CACHE_LOCK:
        ev = _EVALUATORS.get(pack.version)
        if ev is None:
            if len(_EVALUATORS) >= _MAX_CACHED:
                _EVALUATORS.pop(next(iter(_EVALUATORS)))
            ev = _EVALUATORS[pack.version] = Evaluator(pack)
        return ev


def comparable(decision: Decision) -> dict[str, Any]:
    """What must be identical between an original decision and its replay."""
    d = decision.model_dump(mode="json")
    keys = (
        "event_id",
        "status",
        "violations",
        "rule_pack_version",
        "register_version",
        "needs_information",
    )
    return {k: d.get(k) for k in keys} | {
        "register_notes": d.get("register_notes") or [],
        # what the intake could not read or interpreted: a replay must assume the same
        "data_quality": d.get("data_quality") or [],
        "allowlist_version": d.get("allowlist_version"),
        "allowlist_notes": d.get("allowlist_notes") or [],
        "snooze_version": d.get("snooze_version"),
        "snoozed": d.get("snoozed") or [],
    }


def decision_diff(a: Decision, b: Decision) -> list[str]:
    out: list[str] = []
    ca, cb = comparable(a), comparable(b)
    if ca["status"] != cb["status"]:
        out.append(f"status: {ca['status']} -> {cb['status']}")
    if ca["rule_pack_version"] != cb["rule_pack_version"]:
        out.append(f"rule_pack_version: {ca['rule_pack_version']} -> {cb['rule_pack_version']}")
    if ca["register_version"] != cb["register_version"]:
        out.append(f"register_version: {ca['register_version']} -> {cb['register_version']}")
    if ca["register_notes"] != cb["register_notes"]:
        out.append(f"register_notes: {ca['register_notes']!r} -> {cb['register_notes']!r}")
    if ca["needs_information"] != cb["needs_information"]:
        out.append(f"needs_information: {ca['needs_information']} -> {cb['needs_information']}")
    if ca["data_quality"] != cb["data_quality"]:
        fa = {(f["pointer"], f["assumed"]) for f in ca["data_quality"]}
        fb = {(f["pointer"], f["assumed"]) for f in cb["data_quality"]}
        for pointer, assumed in sorted(fa - fb):
            out.append(f"- data_quality {pointer}: {assumed}")
        for pointer, assumed in sorted(fb - fa):
            out.append(f"+ data_quality {pointer}: {assumed}")
        if fa == fb:
            out.append("~ data_quality: messages changed")
    for key in ("allowlist_version", "allowlist_notes", "snooze_version", "snoozed"):
        if ca[key] != cb[key]:
            out.append(f"{key}: {ca[key]!r} -> {cb[key]!r}")
    va = {v["rule_id"]: v for v in ca["violations"]}
    vb = {v["rule_id"]: v for v in cb["violations"]}
    for rid in sorted(va.keys() - vb.keys()):
        out.append(f"- {rid} no longer fires")
    for rid in sorted(vb.keys() - va.keys()):
        out.append(f"+ {rid} now fires: {vb[rid]['reason']}")
    for rid in sorted(va.keys() & vb.keys()):
        for k in ("severity", "confidence", "reason", "evidence", "citations", "title", "regime"):
            if va[rid].get(k) != vb[rid].get(k):
                out.append(f"~ {rid}.{k}: {va[rid].get(k)!r} -> {vb[rid].get(k)!r}")
    return out


@dataclass
class ReplayResult:
    event_id: str
    original: Decision
    replayed: Decision
    identical: bool
    diff: list[str] = field(default_factory=list)


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def load_decision(event_id: str, session: Session) -> tuple[Event, Decision]:
    from engine.storage.tables import DecisionRow, EventRow

    ev_row = session.scalar(select(EventRow).where(EventRow.event_id == event_id))
    if ev_row is None:
        raise LookupError(f"no stored event {event_id!r}")
    dec_row = session.scalar(select(DecisionRow).where(DecisionRow.event_id == event_id))
    if dec_row is None:
        raise LookupError(f"event {event_id!r} has no decision yet")
    original = Decision(
        event_id=dec_row.event_id,
        status=dec_row.status,  # type: ignore[arg-type]
        violations=dec_row.violations,  # type: ignore[arg-type]
        reasons=dec_row.reasons,
        rule_pack_version=dec_row.rule_pack_version,
        list_version=dec_row.list_version,
        register_version=dec_row.register_version,
        register_notes=dec_row.register_notes or [],
        data_quality=dec_row.data_quality or [],
        needs_information=bool(dec_row.needs_information),
        allowlist_version=dec_row.allowlist_version,
        allowlist_notes=dec_row.allowlist_notes or [],
        snooze_version=dec_row.snooze_version,
        snoozed=dec_row.snoozed or [],
        engine_version=dec_row.engine_version,
        evaluated_at=_as_utc(dec_row.evaluated_at),
    )
    return Event.model_validate(ev_row.raw), original


def replay(
    event_id: str,
    screener: Any = None,
    caps: Any = None,
    session: Session | None = None,
    history: Any = None,
) -> ReplayResult:
    """Re-evaluate a stored event with the exact rule pack of its decision and compare.

    Screening hits come only from ``screener``: a ``Screener`` is pinned to the decision's list
    snapshot (``Screener.pinned``) and the designated-vessel register comes from the stored pack,
    so asset-freeze / designated-vessel violations replay as they were; a caps ledger with a
    ``replaying(as_of)`` method is asked for totals as they stood when the decision was made;
    so is the vessel history (engine.vessels.history), for vessel_history conditions.
    """

    def _run(s: Session) -> ReplayResult:
        event, original = load_decision(event_id, s)
        if original.status == "rejected" or not original.rule_pack_version:
            raise ValueError(
                f"event {event_id!r} was {original.status} without a rule pack: nothing to replay"
            )
        pack = load_stored_pack(original.rule_pack_version, s)
        # The list snapshot the decision cited, not whichever is in force for the date today
        # (a backdated snapshot imported since would otherwise change the replay).
        pinned = (
            screener.pinned(original.list_version)
            if screener is not None and hasattr(screener, "pinned")
            else screener
        )
        c = (
            caps.replaying(original.evaluated_at)
            if caps is not None and hasattr(caps, "replaying")
            else caps
        )
        # The register version the decision read (None: it read none, or an older pack's own).
        registers = None
        if original.register_version is not None:
            from engine.registers.batch import PinnedRegisters

            registers = PinnedRegisters(original.register_version)
        # The allowlist version the decision read (known false positives set aside then).
        allowlist = None
        if original.allowlist_version is not None:
            from engine.allowlist.matching import PinnedAllowlist

            allowlist = PinnedAllowlist(original.allowlist_version)
        h = (
            history.replaying(original.evaluated_at)
            if history is not None and hasattr(history, "replaying")
            else history
        )
        replayed = _evaluator_for(pack, pinned, c, registers, allowlist, h).evaluate(event)
        if original.snooze_version is not None and replayed.status == "flagged":
            # The snoozes as the decision's alerts were judged against them, at its own time.
            replayed = _with_snoozes(replayed, original, s)
        diff = decision_diff(original, replayed)
        return ReplayResult(event_id, original, replayed, not diff, diff)

    if session is not None:
        return _run(session)
    from engine.storage.db import session_scope

    with session_scope() as s:
        return _run(s)


def _with_snoozes(replayed: Decision, original: Decision, s: Session) -> Decision:
    from engine.snoozes.matching import snapshot_at
    from engine.storage.tables import EventRow

    assert original.snooze_version is not None
    raw = s.scalar(select(EventRow.raw).where(EventRow.event_id == original.event_id)) or {}
    violations = [v.model_dump(mode="json") for v in replayed.violations]
    withheld = snapshot_at(original.snooze_version).apply(raw, violations, original.evaluated_at)
    return replayed.model_copy(
        update={"snooze_version": original.snooze_version, "snoozed": withheld}
    )


@dataclass
class ImpactItem:
    event_id: str
    before: Decision
    after: Decision
    diff: list[str]

    @property
    def added(self) -> list[str]:
        return sorted(
            {v.rule_id for v in self.after.violations} - {v.rule_id for v in self.before.violations}
        )

    @property
    def removed(self) -> list[str]:
        return sorted(
            {v.rule_id for v in self.before.violations} - {v.rule_id for v in self.after.violations}
        )

    @property
    def outcome_changed(self) -> bool:
        """Status or the set of violated rules differs (else only reasons/evidence/severity...)."""
        return self.before.status != self.after.status or bool(self.added or self.removed)


@dataclass
class ImpactReport:
    old_version: str
    new_version: str
    evaluated: int
    changed: list[ImpactItem]
    rules_added: list[str]
    rules_removed: list[str]
    rules_modified: list[str]


def impact(
    old_pack: RulePack,
    new_pack: RulePack,
    events: Iterable[Event],
    screener: Any = None,
    caps: Any = None,
    batch: int = 500,
) -> ImpactReport:
    """Evaluate ``events`` under both packs; list the decisions that differ (ignoring the version)."""
    old_ev = _evaluator_for(old_pack, screener, caps)
    new_ev = _evaluator_for(new_pack, screener, caps)
    changed: list[ImpactItem] = []
    n = 0
    chunk: list[Event] = []

    def _flush(items: Sequence[Event]) -> None:
        for a, b in zip(old_ev.evaluate_many(items), new_ev.evaluate_many(items), strict=True):
            b_same_version = b.model_copy(update={"rule_pack_version": a.rule_pack_version})
            diff = decision_diff(a, b_same_version)
            if diff:
                changed.append(ImpactItem(a.event_id, a, b, diff))

    for event in events:
        chunk.append(event)
        n += 1
        if len(chunk) >= batch:
            _flush(chunk)
            chunk = []
    if chunk:
        _flush(chunk)
    old_ids, new_ids = old_pack.by_id, new_pack.by_id
    modified = sorted(
        rid for rid in old_ids.keys() & new_ids.keys() if old_ids[rid] != new_ids[rid]
    )
    return ImpactReport(
        old_version=old_pack.version,
        new_version=new_pack.version,
        evaluated=n,
        changed=changed,
        rules_added=sorted(new_ids.keys() - old_ids.keys()),
        rules_removed=sorted(old_ids.keys() - new_ids.keys()),
        rules_modified=modified,
    )


def stored_events(limit: int | None = None, session: Session | None = None) -> list[Event]:
    """Stored, valid events (newest first) for an impact run."""
    from engine.storage.tables import EventRow

    def _load(s: Session) -> list[Event]:
        q = select(EventRow.raw).order_by(EventRow.occurred_at.desc())
        if limit:
            q = q.limit(limit)
        out = []
        for (raw,) in s.execute(q):
            try:
                out.append(Event.model_validate(raw))
            except Exception:
                continue
        return out

    if session is not None:
        return _load(session)
    from engine.storage.db import session_scope

    with session_scope() as s:
        return _load(s)

"""Replay of a whole period: every stored decision of events that occurred in [from, to).

- Against the pinned versions (the default): each event is re-evaluated with the rule pack, list
  snapshot and register version its decision recorded, and the caps totals as they stood when it
  was decided. Every decision must come out identical; each difference is a defect, reported
  with both decisions.
- Against a candidate (``against=`` a rule pack and/or ``lists=`` a list snapshot): an impact
  report per measure of the alerts that would be new, vanish or change, with counts, a sample and
  every row for CSV.

Events are read in pages (keyset on the decision id), so a period of any size replays in bounded
memory; nothing stops at the newest N events. Evaluators are built once per (pack, list, register)
version and reused for every batch (a stored pack is rebuilt once per process, not per event).
Decisions are evaluated in the batches they were made in (same ``evaluated_at``), so a batch is
one ``evaluate_many`` call. A replay writes nothing: no decision, alert or event changes.

Run it in its own process (``sanctions rules replay --from --to``, or the job runner the web app
starts, ``engine.replay_jobs``), never on the live workers' queue.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, func, select, type_coerce

from engine.gc_tuning import replay_thresholds
from engine.models.decisions import Decision
from engine.models.events import Event
from engine.replay import comparable, decision_diff, load_stored_pack
from engine.rules.loader import RulePack
from engine.storage.db import get_engine
from engine.storage.repository import as_utc
from engine.storage.tables import DecisionRow, EventRow

PAGE = 2000
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
SAMPLE = 10
Progress = Callable[[int, int], None]


class AsOfCaps:
    """A caps ledger whose totals are those of one moment (``at``), set before each batch: the
    evaluator is built once and replays batches decided at different times."""

    def __init__(self, ledger: Any) -> None:
        self.base = ledger
        self.current = ledger

    def at(self, when: datetime) -> None:
        self.current = self.base.replaying(when) if hasattr(self.base, "replaying") else self.base

    def usage(self, rule_id: str, cap: Any, event: Event, line: int) -> Any:
        return self.current.usage(rule_id, cap, event, line)

    def with_register(self, register: Any) -> Any:
        return self.current.with_register(register)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)


class _Pinned:
    """A pinned register version read once (a version never changes), not once per batch."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._snap: Any = None

    def current(self) -> Any:
        if self._snap is None:
            self._snap = self.source.current()
        return self._snap


class AsOfHistory:
    """The vessel history as it stood at one moment (``at``), set before each batch. The
    evaluator hands its designated-vessel register and look-back once; ``set_base`` applies
    them to the history of a replay run."""

    def __init__(self, history: Any) -> None:
        self.base = history
        self.current = history
        self._register: Any = None
        self._rules: Any = None

    def with_register(self, register: Any) -> AsOfHistory:
        self._register = register
        return self

    def for_rules(self, rules: Any) -> AsOfHistory:
        self._rules = rules
        return self

    def set_base(self, history: Any, pack: RulePack) -> None:
        if hasattr(history, "with_register"):
            history = history.with_register(pack.vessels).for_rules(pack.rules)
        self.base = self.current = history

    def at(self, when: datetime) -> None:
        self.current = self.base.replaying(when) if hasattr(self.base, "replaying") else self.base

    def check(self, node: Any, event: Event) -> Any:
        return self.current.check(node, event)

    def may_hold(self, event: Event) -> bool:
        """As the live history answers it (a property of the event, not of the cut-off): the
        evaluator skips the history checks of events without a vessel, as live, instead of
        running every test to the same "no" (``__getattr__`` cannot lend it: the evaluator
        looks it up once, while ``current`` is still unset)."""
        found = getattr(self.current, "may_hold", None)
        return True if found is None else bool(found(event))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)


@dataclass
class _Runner:
    """One evaluator (compiled pack, durable rulesets) per pack version, whose pinned parts
    (list snapshot, register and allowlist versions, caps and history cut-off) are set per batch:
    building an evaluator costs about a second, a batch's versions cost nothing to switch."""

    evaluator: Any
    caps: AsOfCaps | None
    history: AsOfHistory | None


_CACHE_LOCK = threading.Lock()
_KEEP = 4  # pack versions whose rebuilt packs and evaluators a replay process keeps
_PACKS: dict[str, RulePack] = {}
_RUNNERS: dict[tuple[Any, ...], _Runner] = {}


def _runner(pack: RulePack, registers: bool, caps: bool, history: bool, source: Any) -> _Runner:
    """The process's evaluator for this pack version and shape (built once: compiling the pack
    and its durable rulesets costs about a second); a replay run switches its parts in."""
    from engine.rules.evaluator import Evaluator

    key = (pack.version, registers, caps, history)
    with _CACHE_LOCK:
        r = _RUNNERS.get(key)
        if r is None:
            c = AsOfCaps(None) if caps else None
            h = AsOfHistory(None) if history else None
            ev = Evaluator(
                pack, screener=None, caps=c, registers=source if registers else None, history=h
            )
            r = _RUNNERS[key] = _Runner(ev, c, h)
            while len(_RUNNERS) > 2 * _KEEP:
                _RUNNERS.pop(next(iter(_RUNNERS)))
        return r


def stored_pack(version: str) -> RulePack:
    """The stored pack of this version, rebuilt once per process (a few are kept)."""
    with _CACHE_LOCK:
        pack = _PACKS.get(version)
    if pack is None:
        pack = load_stored_pack(version)  # checks the text still rebuilds as that version
        with _CACHE_LOCK:
            _PACKS[version] = pack
            while len(_PACKS) > _KEEP:
                _PACKS.pop(next(iter(_PACKS)))
    return pack


@dataclass(frozen=True)
class ReplaySpan:
    """What a replay's caps ledger may prepare for: the period, and where parsed events go."""

    since: datetime
    until: datetime
    parsed: dict[str, Event]


CapsFor = Callable[[RulePack, ReplaySpan], Any]


@dataclass
class Defect:
    event_id: str
    original: dict[str, Any]
    replayed: dict[str, Any]
    diff: list[str]


@dataclass
class PeriodReport:
    mode: str  # pinned | impact
    since: str
    until: str
    regime: str | None
    against: str | None
    lists: str | None
    total: int = 0
    replayed: int = 0
    identical: int = 0
    skipped: int = 0  # rejected, or decided without a rule pack: nothing to replay
    errors: list[str] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    # impact: rule_id -> {"new": n, "vanished": n, "changed": n}
    measures: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)  # every impact row (CSV)

    @property
    def ok(self) -> bool:
        return not self.defects and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "from": self.since,
            "to": self.until,
            "regime": self.regime,
            "against": self.against,
            "lists": self.lists,
            "total": self.total,
            "replayed": self.replayed,
            "identical": self.identical,
            "skipped": self.skipped,
            "errors": self.errors[:100],
            "defects": [d.__dict__ for d in self.defects[:200]],
            "defect_count": len(self.defects),
            "measures": self.measures,
            "samples": self.samples,
            "rows": self.rows,
        }

    def csv(self) -> str:
        out = io.StringIO()
        cols = ["event_id", "rule_id", "regime", "change", "before", "after", "detail"]
        w = csv.DictWriter(out, cols, extrasaction="ignore")
        w.writeheader()
        for r in self.rows:
            w.writerow(r)
        for d in self.defects:
            w.writerow(
                {
                    "event_id": d.event_id,
                    "change": "defect",
                    "before": d.original.get("status"),
                    "after": d.replayed.get("status"),
                    "detail": "; ".join(d.diff),
                }
            )
        return out.getvalue()


def _only_regime(d: dict[str, Any], regime: str | None) -> dict[str, Any]:
    if regime is None:
        return d
    vs = [v for v in d["violations"] if v.get("regime") == regime]
    status = d["status"] if d["status"] == "rejected" else ("flagged" if vs else "clear")
    return d | {"violations": vs, "status": status}


def _as_decision(d: dict[str, Any]) -> Decision:
    return Decision.model_validate(d)


def _page(conn: Any, since: datetime, until: datetime, after: int, upto: int) -> list[Any]:
    """The period's decisions with ``after < id <= upto``: a range of the primary key, so the
    store reads that range (a keyset page ``id > after ORDER BY id LIMIT n`` had SQLite walk
    and sort the whole period's events again for every page)."""
    q = (
        select(
            DecisionRow.id,
            DecisionRow.event_id,
            DecisionRow.status,
            DecisionRow.violations,
            DecisionRow.reasons,
            DecisionRow.rule_pack_version,
            DecisionRow.list_version,
            DecisionRow.register_version,
            DecisionRow.register_notes,
            DecisionRow.engine_version,
            DecisionRow.evaluated_at,
            DecisionRow.data_quality,
            DecisionRow.needs_information,
            DecisionRow.allowlist_version,
            DecisionRow.allowlist_notes,
            # decoded only for events the caps index has not parsed already
            type_coerce(EventRow.raw, Text).label("raw"),
        )
        .join(EventRow, EventRow.event_id == DecisionRow.event_id)
        .where(
            EventRow.occurred_at >= since,
            EventRow.occurred_at < until,
            DecisionRow.id > after,
            DecisionRow.id <= upto,
        )
        .order_by(DecisionRow.id)
    )
    return list(conn.execute(q))


def period_bounds(since: datetime, until: datetime) -> tuple[int, int, int]:
    """(count, lowest, highest decision id) of the period's decisions, in one read."""
    with get_engine().connect() as conn:
        n, lo, hi = conn.execute(
            select(func.count(), func.min(DecisionRow.id), func.max(DecisionRow.id))
            .select_from(DecisionRow)
            .join(EventRow, EventRow.event_id == DecisionRow.event_id)
            .where(EventRow.occurred_at >= since, EventRow.occurred_at < until)
        ).one()
    return int(n or 0), int(lo or 0), int(hi or 0)


def period_packs(since: datetime, until: datetime) -> list[str]:
    """The rule pack versions the period's replayable decisions pinned."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(DecisionRow.rule_pack_version)
            .distinct()
            .join(EventRow, EventRow.event_id == DecisionRow.event_id)
            .where(
                EventRow.occurred_at >= since,
                EventRow.occurred_at < until,
                DecisionRow.status != "rejected",
                DecisionRow.rule_pack_version.is_not(None),
            )
        )
        return sorted(r[0] for r in rows if r[0])


def count_period(since: datetime, until: datetime) -> int:
    return period_bounds(since, until)[0]


def windows(lo: int, hi: int, width: int = PAGE) -> list[tuple[int, int]]:
    """Decision id ranges ``(after, upto]`` covering ``[lo, hi]``, ``width`` ids each: the
    pages of a replay (at most ``width`` decisions each, fewer where the period's decisions
    are interleaved with other periods')."""
    if hi < lo or hi == 0:
        return []
    return [(a, min(a + width, hi)) for a in range(lo - 1, hi, width)]


def _decisions(
    since: datetime, until: datetime, pages: list[tuple[int, int]]
) -> Iterator[list[Any]]:
    for after, upto in pages:
        with get_engine().connect() as conn:
            rows = _page(conn, since, until, after, upto)
        if rows:
            yield rows


class _Stored:
    """A stored decision row, with the versions its replay is pinned to; the Decision model is
    built only when the quick comparison (``same_as``) does not settle it."""

    __slots__ = (
        "row",
        "event_id",
        "rule_pack_version",
        "list_version",
        "register_version",
        "allowlist_version",
        "evaluated_at",
        "_decision",
    )

    def __init__(self, r: Any) -> None:
        self.row = r
        self.event_id = r.event_id
        self.rule_pack_version = r.rule_pack_version
        self.list_version = r.list_version
        self.register_version = r.register_version
        self.allowlist_version = r.allowlist_version
        self.evaluated_at = as_utc(r.evaluated_at)
        self._decision: Decision | None = None

    @property
    def decision(self) -> Decision:
        if self._decision is None:
            self._decision = _original(self.row)
        return self._decision

    def same_as(self, again: Decision) -> bool:
        """The row's columns equal ``comparable(again)``: then the stored decision is identical
        (a Decision built from columns equal to a Decision's dump dumps the same). Otherwise
        undecided: the caller compares the models, as before."""
        r = self.row
        mine = {
            "event_id": r.event_id,
            "status": r.status,
            "violations": r.violations,
            "rule_pack_version": r.rule_pack_version,
            "register_version": r.register_version,
            "needs_information": bool(r.needs_information),
            "register_notes": r.register_notes or [],
            "data_quality": r.data_quality or [],
            "allowlist_version": r.allowlist_version,
            "allowlist_notes": r.allowlist_notes or [],
            "snooze_version": None,  # not read from the row (as _original): none replayed
            "snoozed": [],
        }
        return mine == comparable(again)


def _original(r: Any) -> Decision:
    return Decision(
        event_id=r.event_id,
        status=r.status,
        violations=r.violations,
        reasons=r.reasons,
        rule_pack_version=r.rule_pack_version,
        list_version=r.list_version,
        register_version=r.register_version,
        register_notes=r.register_notes or [],
        data_quality=r.data_quality or [],
        needs_information=bool(r.needs_information),
        allowlist_version=r.allowlist_version,
        allowlist_notes=r.allowlist_notes or [],
        engine_version=r.engine_version,
        evaluated_at=as_utc(r.evaluated_at),
    )


class Replayer:
    """Evaluators per pack version, built once, with the versions of each batch switched in
    (``screener``: the live Screener, pinned per list version; ``caps_for``: a caps ledger for a
    pack's rules over the replay's span, default over the stored events; ``history``: the
    vessel history, default over the stored events)."""

    def __init__(
        self,
        screener: Any = None,
        caps_for: CapsFor | None = None,
        against: RulePack | None = None,
        lists: str | None = None,
        history: Any = None,
        span: ReplaySpan | None = None,
    ) -> None:
        self.screener = screener
        self.caps_for = caps_for
        self.against = against
        self.lists = lists  # None: pinned; "current": the screener as it is; else a version
        self.history = history
        self.span = span
        self._runners: dict[tuple[Any, ...], _Runner] = {}
        self._registers: dict[int, _Pinned] = {}
        self._allowlists: dict[int, Any] = {}
        # party screenings of this run (engine.screening.service.Screener.memoised)
        self.memo: dict[tuple[object, ...], Any] = {}
        self._screeners: dict[int, tuple[Any, Any]] = {}

    def _pack(self, version: str) -> RulePack:
        if self.against is not None:
            return self.against
        return stored_pack(version)

    def _screener(self, list_version: str | None) -> Any:
        s = self.screener
        if s is None:
            return None
        if self.lists == "current":
            return self._memoised(s)
        wanted = list_version if self.lists is None else self.lists
        return self._memoised(s.pinned(wanted) if hasattr(s, "pinned") else s)

    def _memoised(self, screener: Any) -> Any:
        """The screener remembering its parties' hits for this run (parties recur across a
        period; the memo's key holds the snapshot version, thresholds and party record)."""
        if not hasattr(screener, "memoised"):
            return screener
        got = self._screeners.get(id(screener))
        if got is None or got[0] is not screener:
            got = self._screeners[id(screener)] = (screener, screener.memoised(self.memo))
        return got[1]

    def _register_source(self, version: int) -> _Pinned:
        from engine.registers.batch import PinnedRegisters

        got = self._registers.get(version)
        if got is None:
            got = self._registers[version] = _Pinned(PinnedRegisters(version))
        return got

    def _allowlist(self, version: int | None) -> Any:
        if version is None:
            return None
        got = self._allowlists.get(version)
        if got is None:
            from engine.allowlist.matching import PinnedAllowlist

            got = self._allowlists[version] = PinnedAllowlist(version)
        return got

    def runner(self, d: Any) -> _Runner:
        """``d``: a decision (or stored row, ``_Stored``): its pinned versions."""
        pack = self._pack(d.rule_pack_version or "")
        # with or without the stored registers: a decision that read none replays without
        key = (pack.version, d.register_version is not None)
        r = self._runners.get(key)
        if r is None:
            ledger = None
            if self.caps_for is not None:
                ledger = self.caps_for(pack, self.span or ReplaySpan(_EARLIEST, _LATEST, {}))
            r = _runner(
                pack,
                d.register_version is not None,
                ledger is not None,
                self.history is not None,
                self._register_source(d.register_version)
                if d.register_version is not None
                else None,
            )
            if r.caps is not None:
                r.caps.base = r.caps.current = ledger
            if r.history is not None:
                r.history.set_base(self.history, pack)
            self._runners[key] = r
        ev = r.evaluator
        ev._screener_source = self._screener(d.list_version)
        if d.register_version is not None:
            ev._batch_register.source = self._register_source(d.register_version)
        ev.allowlist = self._allowlist(d.allowlist_version)
        return r

    def evaluate(self, batch: Sequence[tuple[Any, Event]]) -> list[Decision]:
        first = batch[0][0]
        r = self.runner(first)
        if r.caps is not None:
            r.caps.at(first.evaluated_at)
        if r.history is not None:
            r.history.at(first.evaluated_at)
        return list(r.evaluator.evaluate_many([e for _, e in batch]))


def _batches(
    rows: list[Any], parsed: dict[str, Event]
) -> Iterator[list[tuple[_Stored, Event]] | tuple[str, str]]:
    """The decisions of a page grouped by what they were made with (versions, evaluated_at):
    each group is one evaluate_many call. Caps totals come from the store as of evaluated_at,
    so the order of events within a group does not change them. ``parsed``: events the caps
    index parsed already (each taken once)."""
    groups: dict[tuple[Any, ...], list[tuple[_Stored, Event]]] = {}
    for r in rows:
        original = _Stored(r)
        event = parsed.pop(r.event_id, None)
        if event is None:
            try:
                raw = json.loads(r.raw) if isinstance(r.raw, str) else r.raw
                event = Event.model_validate(raw)
            except Exception as exc:  # the stored body no longer validates: a defect of its own
                yield (r.event_id, f"stored event does not validate: {exc}"[:500])
                continue
        k = (
            original.rule_pack_version,
            original.list_version,
            original.register_version,
            original.allowlist_version,
            original.evaluated_at,
        )
        groups.setdefault(k, []).append((original, event))
    yield from groups.values()


def new_report(
    since: datetime,
    until: datetime,
    regime: str | None,
    impact: bool,
    against_label: str | None,
    lists: str | None,
) -> PeriodReport:
    return PeriodReport(
        "impact" if impact else "pinned",
        since.isoformat(),
        until.isoformat(),
        regime,
        against_label,
        lists,
    )


def replay_rows(
    report: PeriodReport, replayer: Replayer, rows: list[Any], regime: str | None
) -> None:
    """Replay one page of decision rows into ``report`` (counts, errors, defects or impact)."""
    impact = report.mode == "impact"
    parsed = replayer.span.parsed if replayer.span is not None else {}
    todo = []
    for r in rows:
        if r.status == "rejected" or not r.rule_pack_version:
            report.skipped += 1
        else:
            todo.append(r)
    for batch in _batches(todo, parsed):
        if isinstance(batch, tuple):
            report.errors.append(f"{batch[0]}: {batch[1]}")
            continue
        try:
            replayed = replayer.evaluate(batch)
        except Exception as exc:  # the pinned pack is not stored, or no longer rebuilds
            report.errors += [f"{o.event_id}: {exc}"[:500] for o, _ in batch]
            continue
        for (original, _), again in zip(batch, replayed, strict=True):
            report.replayed += 1
            if impact:
                _impact(report, original.decision, again, regime)
            elif regime is None and original.same_as(again):
                report.identical += 1  # the common case: one dump, no model built
            else:
                _compare(report, original.decision, again, regime)


@replay_thresholds()  # the collector's thresholds while it runs (engine.gc_tuning)
def replay_period(
    since: datetime,
    until: datetime,
    regime: str | None = None,
    against: RulePack | None = None,
    lists: str | None = None,
    screener: Any = None,
    caps_for: CapsFor | None = None,
    progress: Progress | None = None,
    against_label: str | None = None,
    history: Any = None,
    page_times: list[float] | None = None,
) -> PeriodReport:
    """``history``: the vessel history decisions were made with (None: the stored one, as the
    live evaluator has; False: none). ``page_times``: seconds per page are appended (bench).
    In this process; ``engine.replay_parallel.replay_period_jobs`` splits a period over
    worker processes."""
    impact = against is not None or lists is not None
    report = new_report(
        since,
        until,
        regime,
        impact,
        against_label or (against.version if against is not None else None),
        lists,
    )
    report.total, lo, hi = period_bounds(since, until)
    if history is None:
        from engine.vessels.history import default_history

        history = default_history()
    span = ReplaySpan(since, until, {})
    replayer = Replayer(screener, caps_for, against, lists, history or None, span)
    done = 0
    clock = time.perf_counter()
    for rows in _decisions(since, until, windows(lo, hi)):
        replay_rows(report, replayer, rows, regime)
        done += len(rows)
        if page_times is not None:
            now = time.perf_counter()
            page_times.append(now - clock)
            clock = now
        if progress is not None:
            progress(done, report.total)
    return report


def _compare(report: PeriodReport, original: Decision, again: Decision, regime: str | None) -> None:
    if regime is None:
        if comparable(original) == comparable(again):  # the common case: one dump each
            report.identical += 1
            return
        diff = decision_diff(original, again)
    else:
        a = _only_regime(original.model_dump(mode="json"), regime)
        b = _only_regime(again.model_dump(mode="json"), regime)
        diff = decision_diff(_as_decision(a), _as_decision(b))
    if diff:
        report.defects.append(
            Defect(original.event_id, comparable(original), comparable(again), diff)
        )
    else:
        report.identical += 1


def _impact(report: PeriodReport, original: Decision, again: Decision, regime: str | None) -> None:
    a = _only_regime(original.model_dump(mode="json"), regime)
    b = _only_regime(again.model_dump(mode="json"), regime)
    va = {v["rule_id"]: v for v in a["violations"]}
    vb = {v["rule_id"]: v for v in b["violations"]}
    same = True
    changes: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for rid in sorted(vb.keys() - va.keys()):
        changes.append((rid, "new", None, vb[rid]))
    for rid in sorted(va.keys() - vb.keys()):
        changes.append((rid, "vanished", va[rid], None))
    for rid in sorted(va.keys() & vb.keys()):
        keys = ("severity", "confidence", "reason", "evidence", "citations", "title")
        if any(va[rid].get(k) != vb[rid].get(k) for k in keys):
            changes.append((rid, "changed", va[rid], vb[rid]))
    for rid, change, before, after in changes:
        same = False
        counts = report.measures.setdefault(rid, {"new": 0, "vanished": 0, "changed": 0})
        counts[change] += 1
        detail = ""
        if change == "changed" and before and after:
            detail = (
                "; ".join(
                    f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
                    for k in ("severity", "confidence", "reason")
                    if before.get(k) != after.get(k)
                )
                or "evidence or citations"
            )
        row = {
            "event_id": original.event_id,
            "rule_id": rid,
            "regime": (after or before or {}).get("regime", ""),
            "change": change,
            "before": (before or {}).get("severity", "") if before else "-",
            "after": (after or {}).get("severity", "") if after else "-",
            "detail": detail or ((after or before or {}).get("reason") or ""),
        }
        report.rows.append(row)
        sample = report.samples.setdefault(rid, [])
        if len(sample) < SAMPLE:
            sample.append(row)
    if same:
        report.identical += 1


def default_replayer_parts(preloaded: dict[str, Any] | None = None) -> tuple[Any, CapsFor]:
    """The screener and caps ledgers live decisions are made with (a replay process's own): the
    ledger reads the counted lines of the replay's span once (engine.replay_ledger).
    ``preloaded``: pack version -> the counted lines of the span, read already (a parallel
    replay's workers read a share each, CapsIndex.scan)."""
    from engine.replay_ledger import CapsIndex, ReplayLedger
    from engine.screening import default_screener

    ledgers: dict[tuple[str, datetime, datetime], Any] = {}

    def caps_for(pack: RulePack, span: ReplaySpan) -> Any:
        key = (pack.version, span.since, span.until)
        led = ledgers.get(key)
        if led is None:
            index = CapsIndex(pack.rules, span.since, span.until, span.parsed)
            if preloaded is not None and pack.version in preloaded:
                index.preload(index.build(preloaded[pack.version]))
            led = ledgers[key] = ReplayLedger(pack.rules, index)
        else:
            led.index.parsed = span.parsed
        return led

    return default_screener(), caps_for


__all__ = ["PeriodReport", "Replayer", "replay_period"]

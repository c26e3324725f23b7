"""A period replay split over worker processes (``sanctions rules replay --jobs N``).

The period's decisions are cut into pages of decision ids (``replay_period.windows``); worker
processes (multiprocessing, spawn: nothing of this process is inherited but the environment,
so each worker opens its own connections to the same store) replay one page per task with the
same ``replay_rows`` a single-process replay runs, and the pages' reports are merged in page
order: counts, errors, defects, impact rows and samples come out exactly as one process makes
them. Each worker reads the same stored ledger: caps totals and vessel history are read as of
each decision's own time, so which process replays a decision does not change its figures.

Each worker builds its own parts (screener, vessel history, evaluators per pinned pack): a
replay needs a few seconds per pack version per worker to start. The caps index
(engine.replay_ledger) is read in shares first: worker k parses the span's events whose row id
is k modulo n and returns their counted lines; every worker then builds the whole index from
all shares (``CapsIndex.build``, the order one process gives), instead of each parsing every
event of the span. A kept pool
(``keep_pool=True``, the bench) reuses its workers' rebuilt packs and evaluators for the next
replay, as one process reuses its own.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.gc_tuning import set_long_lived_thresholds
from engine.replay_period import (
    PAGE,
    SAMPLE,
    PeriodReport,
    Progress,
    Replayer,
    ReplaySpan,
    _decisions,
    default_replayer_parts,
    new_report,
    period_bounds,
    period_packs,
    replay_rows,
    windows,
)


@dataclass(frozen=True)
class RunSpec:
    """What every worker needs to build its replayer: plain values, sent with each page."""

    token: str  # one replay run (a kept worker rebuilds its replayer for a new one)
    since: datetime
    until: datetime
    regime: str | None
    against: str | None  # as the command line takes it (engine.replay_cli.candidate_pack)
    lists: str | None
    caps: str | None = None  # file of the merged caps indexes (pack version -> index)


@dataclass
class PagePart:
    """One page's report, with what the bench and the tests look at: the decision rows read,
    the worker's CPU and wall seconds on it, and which worker process it was."""

    report: PeriodReport
    rows: int
    cpu_seconds: float
    seconds: float
    pid: int
    started: float = 0.0  # time.perf_counter() at the task's start (one clock for all processes)


_STATE: tuple[str, Replayer] | None = None  # in a worker: the replayer of the current run
# in a worker: events its caps share parsed, for its pages to take (run token, events)
_PARSED: tuple[str, dict[str, Any]] = ("", {})


def _parsed(token: str) -> dict[str, Any]:
    global _PARSED
    if _PARSED[0] != token:
        _PARSED = (token, {})
    return _PARSED[1]


def _replayer(spec: RunSpec) -> Replayer:
    global _STATE
    if _STATE is None or _STATE[0] != spec.token:
        from engine.replay_cli import candidate_pack
        from engine.vessels.history import default_history

        preloaded = None
        if spec.caps is not None:
            with open(spec.caps, "rb") as f:
                preloaded = pickle.load(f)  # written by this replay's parent, just before
        screener, caps_for = default_replayer_parts(preloaded)
        span = ReplaySpan(spec.since, spec.until, _parsed(spec.token))
        replayer = Replayer(
            screener,
            caps_for,
            candidate_pack(spec.against),
            spec.lists,
            default_history() or None,
            span,
        )
        _STATE = (spec.token, replayer)
    return _STATE[1]


def _scan_share(task: tuple[RunSpec, list[str], int, int]) -> tuple[dict[str, Any], PagePart]:
    """A worker's share (row id k modulo n) of the period's counted caps lines, per pack: the
    workers read and parse the caps index's events once between them, not once each."""
    from engine.replay_cli import candidate_pack
    from engine.replay_ledger import CapsIndex, ReplayLedger
    from engine.replay_period import stored_pack

    spec, versions, k, n = task
    c0, t0 = time.process_time(), time.perf_counter()
    out: dict[str, Any] = {}
    for version in versions:
        try:
            pack = candidate_pack(spec.against) if spec.against else stored_pack(version)
        except Exception:  # not stored, or no longer rebuilds: the pages report it per decision
            continue
        # the events parsed here are kept for this worker's pages (about 1/n of them hit)
        index = CapsIndex(pack.rules, spec.since, spec.until, _parsed(spec.token))
        if index.rules:
            out[pack.version] = index.scan(ReplayLedger(pack.rules, index), (k, n))
    empty = new_report(spec.since, spec.until, spec.regime, False, None, None)
    return out, PagePart(
        empty, 0, time.process_time() - c0, time.perf_counter() - t0, os.getpid(), t0
    )


def _caps_lines(pool: Any, spec: RunSpec, jobs: int, parts: list[PagePart]) -> dict[str, Any]:
    """Each pack's counted caps lines over the span, from the workers' shares (each worker
    builds its index from all of them, CapsIndex.build: as one process builds it)."""
    versions = ["against"] if spec.against else period_packs(spec.since, spec.until)
    found: dict[str, list[Any]] = {}
    tasks = [(spec, versions, k, jobs) for k in range(jobs)]
    for share, part in pool.imap(_scan_share, tasks):
        parts.append(part)
        for version, lines in share.items():
            found.setdefault(version, []).extend(lines)
    return found


def _replay_page(task: tuple[RunSpec, tuple[int, int]]) -> PagePart:
    """A worker's task: one page of decision ids, replayed as a single process would."""
    spec, window = task
    c0, t0 = time.process_time(), time.perf_counter()
    replayer = _replayer(spec)
    impact = spec.against is not None or spec.lists is not None
    part = new_report(spec.since, spec.until, spec.regime, impact, spec.against, spec.lists)
    n = 0
    for rows in _decisions(spec.since, spec.until, [window]):
        replay_rows(part, replayer, rows, spec.regime)
        n += len(rows)
    return PagePart(part, n, time.process_time() - c0, time.perf_counter() - t0, os.getpid(), t0)


def merge(report: PeriodReport, part: PeriodReport) -> None:
    """Add one page's report (pages merged in order give the single-process report)."""
    report.replayed += part.replayed
    report.identical += part.identical
    report.skipped += part.skipped
    report.errors += part.errors
    report.defects += part.defects
    report.rows += part.rows
    for rid, counts in part.measures.items():
        mine = report.measures.setdefault(rid, {"new": 0, "vanished": 0, "changed": 0})
        for k, n in counts.items():
            mine[k] += n
    for rid, sample in part.samples.items():
        mine_s = report.samples.setdefault(rid, [])
        mine_s += sample[: max(SAMPLE - len(mine_s), 0)]


_POOL: tuple[int, Any] | None = None


def _pool(jobs: int, keep: bool) -> Any:
    global _POOL
    if keep and _POOL is not None and _POOL[0] == jobs:
        return _POOL[1]
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=set_long_lived_thresholds)
    if keep:
        close_pool()
        _POOL = (jobs, pool)
    return pool


def close_pool() -> None:
    """Stop a kept pool's workers."""
    global _POOL
    if _POOL is not None:
        _POOL[1].close()
        _POOL[1].join()
        _POOL = None


def default_jobs() -> int:
    return max(os.cpu_count() or 1, 1)


def replay_period_jobs(
    since: datetime,
    until: datetime,
    regime: str | None = None,
    against: str | None = None,
    lists: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    parts: list[PagePart] | None = None,
    keep_pool: bool = False,
    page: int = PAGE,
) -> PeriodReport:
    """``replay_period`` with the default parts over ``jobs`` worker processes (default: the
    CPU count), ``page`` decision ids per task. ``against``: a candidate pack as the command
    line names it. ``parts``: each page's part is appended (bench, tests); none when the
    replay ran in this process (one job, or a single page)."""
    impact = against is not None or lists is not None
    report = new_report(since, until, regime, impact, against, lists)
    report.total, lo, hi = period_bounds(since, until)
    pages = windows(lo, hi, page)
    jobs = min(jobs or default_jobs(), len(pages))
    if jobs <= 1:  # one page (or one job asked for): starting workers would cost more
        from engine.replay_cli import candidate_pack
        from engine.replay_period import replay_period

        screener, caps_for = default_replayer_parts()
        return replay_period(
            since,
            until,
            regime=regime,
            against=candidate_pack(against),
            lists=lists,
            screener=screener,
            caps_for=caps_for,
            progress=progress,
            against_label=against,
        )
    spec = RunSpec(uuid.uuid4().hex, since, until, regime, against, lists)
    pool = _pool(jobs, keep_pool)
    done = 0
    scans: list[PagePart] = []
    fd, caps_file = tempfile.mkstemp(prefix="replay-caps-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(_caps_lines(pool, spec, jobs, scans), f, pickle.HIGHEST_PROTOCOL)
        if parts is not None:
            parts += scans
        spec = dataclasses.replace(spec, caps=caps_file)
        # ordered: page n's part is merged after page n-1's, whichever worker finished first
        for part in pool.imap(_replay_page, [(spec, w) for w in pages]):
            merge(report, part.report)
            if parts is not None:
                parts.append(part)
            done += part.rows
            if progress is not None and part.rows:
                progress(done, report.total)
    finally:
        os.unlink(caps_file)
        if not keep_pool:
            pool.close()
            pool.join()
    return report


__all__ = ["replay_period_jobs", "merge", "close_pool", "default_jobs"]

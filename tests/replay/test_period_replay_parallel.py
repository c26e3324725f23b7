"""A period replay split over worker processes reports exactly what one process reports (the
same identical count and the same defects, a planted one included), and the party-screening
memo of a replay never answers one list snapshot with another's hits."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from replay_support import ACME, acme_shipment, generated_events, ingest_and_decide, un_list_xml
from sqlalchemy import text

from engine.replay_parallel import PagePart, replay_period_jobs
from engine.replay_period import default_replayer_parts, replay_period
from engine.storage.db import get_engine

FROM, TO = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)


def _import(tmp_path: Path, name: str, generated: str, names: list[tuple[str, str]]) -> None:
    from engine.lists.importer import import_list

    xml = tmp_path / name
    xml.write_bytes(un_list_xml(generated, [(n, ref, "2024-02-01") for n, ref in names]))
    import_list(str(xml), retro=False)


def _two_snapshots(tmp_path: Path) -> None:
    """acme-1..3 decided against a snapshot without ACME (clear), acme-4..6 against the next,
    which lists it (flagged): the same party, screened against two pinned snapshots."""
    other = ("KOREA UNRELATED SHIPPING COMPANY", "KPe.801")
    _import(tmp_path, "s1.xml", "2024-01-10T00:00:00Z", [other])
    ingest_and_decide([acme_shipment(f"acme-{i}", i) for i in (1, 2, 3)])
    _import(tmp_path, "s2.xml", "2024-02-10T00:00:00Z", [other, (ACME, "KPe.902")])
    ingest_and_decide([acme_shipment(f"acme-{i}", i) for i in (4, 5, 6)])


def _decided() -> dict[str, tuple[str, str | None]]:
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT event_id, status, list_version FROM decisions"))
        return {r[0]: (r[1], r[2]) for r in rows}


def test_screening_memo_never_answers_one_snapshot_with_another(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    _two_snapshots(tmp_path)
    decided = _decided()
    before = {decided[f"acme-{i}"] for i in (1, 2, 3)}
    after = {decided[f"acme-{i}"] for i in (4, 5, 6)}
    # the data really holds the case: one party, two snapshots, two outcomes
    assert len(before) == len(after) == 1
    (b_status, b_list), (a_status, a_list) = before.pop(), after.pop()
    assert (b_status, a_status) == ("clear", "flagged") and b_list != a_list

    screener, caps_for = default_replayer_parts()
    report = replay_period(FROM, TO, screener=screener, caps_for=caps_for)
    assert report.errors == [] and report.defects == []
    assert report.identical == report.replayed == 6


def test_screening_memo_keys_on_the_snapshot() -> None:
    """One memo shared by the screeners of two snapshots: the party listed in the first only is
    found against the first only, whichever is asked first."""
    from engine.lists.model import ListEntry
    from engine.models.events import Party
    from engine.screening.service import Screener

    def entry(name: str, ref: str) -> ListEntry:
        return ListEntry(
            dataid=ref, reference=ref, regime="DPRK", kind="entity", name=name, listed_on=None
        )

    day = datetime(2024, 6, 1, tzinfo=UTC)
    listed = Screener.from_entries([entry(ACME, "KPe.902")], "v-listed", day)
    unlisted = Screener.from_entries([entry("SOMEONE ELSE ENTIRELY", "KPe.801")], "v-not", day)
    party = Party(role="consignee", name="Acme Ocean Trading Corp.")
    for order in ((unlisted, listed), (listed, unlisted)):
        memo: dict[tuple[object, ...], Any] = {}
        found = {
            s.version_at(day): [h.reference for h in s.memoised(memo).screen_party(party, day)]
            for s in order
        }
        assert found == {"v-listed": ["KPe.902"], "v-not": []}
        assert len(memo) == 2  # both screenings were memoised, under keys of their own


def test_parallel_replay_reports_what_one_process_reports(
    db: None, fresh_screening: None, tmp_path: Path
) -> None:
    _two_snapshots(tmp_path)
    decided = ingest_and_decide(generated_events(700, seed=5), batch=100)  # caps among them
    with get_engine().connect() as conn:
        victim = conn.scalar(
            text(
                "SELECT event_id FROM decisions WHERE status = 'flagged' AND event_id LIKE 'gen-%'"
                " ORDER BY id DESC LIMIT 1"
            )
        )
        late = conn.scalar(text("SELECT max(id) FROM decisions"))
    # planted defect: a flagged decision of the last page made clear behind the app's back
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE decisions SET status = 'clear', violations = '[]' WHERE event_id = :e"),
            {"e": victim},
        )
    assert victim is not None and late is not None and len(decided) == 700

    screener, caps_for = default_replayer_parts()
    single = replay_period(FROM, TO, screener=screener, caps_for=caps_for)
    parts: list[PagePart] = []
    seen: list[tuple[int, int]] = []
    parallel = replay_period_jobs(
        FROM, TO, jobs=2, page=100, parts=parts, progress=lambda d, t: seen.append((d, t))
    )

    # really split: several pages, more than one worker process, none of them this one
    assert len(parts) >= 7 and len({p.pid for p in parts}) == 2
    assert all(p.pid != os.getpid() for p in parts)
    assert seen[-1] == (706, 706)
    for report in (single, parallel):
        assert report.errors == []
        assert report.replayed == 706 and report.identical == 705
        assert [d.event_id for d in report.defects] == [victim]
        assert any("status: clear -> flagged" in line for line in report.defects[0].diff)
    assert parallel.to_json() == single.to_json()


def test_replay_workers_collect_cycles_less_often_and_the_parent_as_before() -> None:
    """The pool's workers run with the replay's collector thresholds (the default ones spent
    ~40% of a worker's CPU on full collections); the process starting them keeps its own."""
    import gc

    from engine.gc_tuning import GC_THRESHOLDS
    from engine.replay_parallel import _pool

    before = gc.get_threshold()
    pool = _pool(2, keep=False)
    try:
        found = pool.map(_thresholds, range(4))
    finally:
        pool.close()
        pool.join()
    assert GC_THRESHOLDS != (700, 10, 10)  # Python's default: the test would prove nothing
    assert set(found) == {GC_THRESHOLDS}
    assert gc.get_threshold() == before


def _thresholds(_: int) -> tuple[int, int, int]:
    import gc

    return gc.get_threshold()


def test_one_process_replay_collects_less_often_while_it_runs_only(db: None) -> None:
    import gc

    from engine.gc_tuning import GC_THRESHOLDS

    ingest_and_decide(generated_events(60, seed=7), batch=30)
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    screener, caps_for = default_replayer_parts()
    report = replay_period(
        FROM, TO, screener=screener, caps_for=caps_for, progress=lambda d, t: during.append(
            gc.get_threshold()
        )
    )  # fmt: skip
    assert report.ok and report.identical == report.replayed == 60
    assert during and set(during) == {GC_THRESHOLDS} and before != GC_THRESHOLDS
    assert gc.get_threshold() == before


def test_overlapping_replays_restore_the_process_thresholds_when_the_last_ends() -> None:
    import gc

    from engine.gc_tuning import GC_THRESHOLDS, replay_thresholds

    before = gc.get_threshold()
    first, second = replay_thresholds(), replay_thresholds()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold() == GC_THRESHOLDS
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before

"""Period replay: the demo replays identical against its pinned versions; a stored decision
altered behind the application's back is reported as a defect with both decisions; a candidate
pack without a measure shows that measure's alerts as vanished."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from replay_support import demo_events, generated_events, ingest_and_decide
from sqlalchemy import text

from engine.config import PROJECT_ROOT
from engine.replay_period import default_replayer_parts, replay_period
from engine.rules.loader import load_pack
from engine.storage.db import get_engine

FROM, TO = datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _pinned(**kw: object) -> object:
    screener, caps_for = default_replayer_parts()
    return replay_period(FROM, TO, screener=screener, caps_for=caps_for, **kw)  # type: ignore[arg-type]


def test_demo_replays_identical_and_defects_name_both_decisions(db: None) -> None:
    events = demo_events()
    decided = ingest_and_decide(events)
    assert decided
    seen: list[tuple[int, int]] = []
    report = _pinned(progress=lambda d, t: seen.append((d, t)))
    assert report.mode == "pinned"  # type: ignore[attr-defined]
    assert report.errors == [] and report.defects == []  # type: ignore[attr-defined]
    with get_engine().connect() as conn:
        flagged = conn.scalar(text("SELECT count(*) FROM decisions WHERE status = 'flagged'"))
        stored = conn.scalar(text("SELECT count(*) FROM decisions WHERE status <> 'rejected'"))
        victim = conn.scalar(
            text("SELECT event_id FROM decisions WHERE status = 'flagged' ORDER BY id LIMIT 1")
        )
    assert flagged and report.identical == stored == report.replayed  # type: ignore[attr-defined]
    assert seen and seen[-1][0] == seen[-1][1]

    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE decisions SET status = 'clear' WHERE event_id = :e"), {"e": victim}
        )
    report = _pinned()
    assert [d.event_id for d in report.defects] == [victim]  # type: ignore[attr-defined]
    defect = report.defects[0]  # type: ignore[attr-defined]
    assert defect.original["status"] == "clear" and defect.replayed["status"] == "flagged"
    assert any("status: clear -> flagged" in line for line in defect.diff)


def test_candidate_pack_without_a_measure_reports_its_alerts_vanished(
    db: None, tmp_path: Path
) -> None:
    ingest_and_decide(demo_events())
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT rule_id, count(*) FROM alerts GROUP BY rule_id")).all()
    rule_id, count = sorted(rows, key=lambda r: (-r[1], r[0]))[0]
    pack = load_pack()
    rel = next(
        p
        for p, t in pack.files.items()
        if re.search(rf"^id:\s*['\"]?{re.escape(rule_id)}['\"]?\s*$", t, re.M)
    )
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    (rules / rel).unlink()
    candidate = load_pack(rules)
    screener, caps_for = default_replayer_parts()
    report = replay_period(FROM, TO, against=candidate, screener=screener, caps_for=caps_for)
    assert report.mode == "impact"
    assert report.measures[rule_id]["vanished"] == count
    assert all(r["change"] == "vanished" for r in report.rows if r["rule_id"] == rule_id)
    assert f"{rule_id},".encode() in report.csv().encode()


def test_generated_events_replay_identical(db: None) -> None:
    """Generated trade (one in ten sanctioned, caps included) decided live replays identical;
    bench/replay.py runs the same over 20,000 events and prints the rate."""
    decided = ingest_and_decide(generated_events(2000), batch=250)
    report = _pinned()
    assert report.errors == [] and report.defects == []  # type: ignore[attr-defined]
    assert report.identical == report.replayed == len(decided) == 2000  # type: ignore[attr-defined]

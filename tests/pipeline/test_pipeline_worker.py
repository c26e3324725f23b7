"""Worker logic in-process (eager Celery): idempotent decisions and alerts, the raw-queue task,
malformed task arguments. Real database; the evaluator is engine.rules.evaluator's default one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pipeline_support import clear_event, flagged_event, mixed_events
from sqlalchemy import func, select

from engine.models.decisions import Citation, Decision, Violation
from engine.pipeline.ingest import ingest_batch
from engine.storage.db import get_engine
from engine.storage.repository import save_decisions
from engine.storage.tables import AlertRow, DecisionRow, EventRow, RejectionRow


def count(model, *where) -> int:
    with get_engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where))


def rejections() -> list[tuple[str, str | None, list]]:
    """In the order they were recorded: without ORDER BY, PostgreSQL may return any order."""
    with get_engine().connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(RejectionRow.channel, RejectionRow.event_id, RejectionRow.errors).order_by(
                    RejectionRow.id
                )
            )
        ]


@pytest.fixture
def evaluator(db: None):
    from engine.pipeline.decide import get_evaluator

    return get_evaluator()


def _violation(rule_id: str) -> Violation:
    return Violation(
        rule_id=rule_id,
        regime="DPRK",
        title=f"rule {rule_id}",
        severity="high",
        citations=[Citation(resolution="1718 (2006)", paragraph="8(a)")],
        reason="test",
    )


def test_save_decisions_is_insert_or_ignore_with_one_alert_per_rule(db) -> None:
    ingest_batch([flagged_event("s:1"), clear_event("s:2")])
    now = datetime.now(UTC)
    flagged = Decision(
        event_id="s:1",
        status="flagged",
        engine_version="t",
        evaluated_at=now,
        violations=[_violation("dprk.arms"), _violation("dprk.arms"), _violation("dprk.shipping")],
    )
    clear = Decision(event_id="s:2", status="clear", engine_version="t", evaluated_at=now)
    occurred = {"s:1": now, "s:2": now}
    assert sorted(save_decisions([flagged, clear], occurred)) == ["s:1", "s:2"]
    # redelivery: nothing new, even with a differently ordered batch
    assert save_decisions([clear, flagged], occurred) == []
    assert count(DecisionRow) == 2
    with get_engine().connect() as conn:
        alerts = conn.execute(select(AlertRow.event_id, AlertRow.rule_id, AlertRow.citation)).all()
    assert sorted(alerts) == [
        ("s:1", "dprk.arms", "UNSCR 1718 (2006) OP8(a)"),
        ("s:1", "dprk.shipping", "UNSCR 1718 (2006) OP8(a)"),
    ]
    assert count(EventRow, EventRow.status == "decided") == 2


def test_evaluate_events_twice_gives_one_decision_each(evaluator) -> None:
    from engine.pipeline.tasks import evaluate_events

    events = mixed_events("e", 40, flag_every=5)
    ids = [e["event_id"] for e in events]
    ingest_batch(events)
    assert evaluate_events.apply(args=[ids]).get() == 40
    assert evaluate_events.apply(args=[ids]).get() == 0
    assert evaluate_events.apply(args=[ids[0]]).get() == 0  # a single id works too
    assert count(DecisionRow) == 40
    assert count(EventRow, EventRow.status == "decided") == 40
    flagged_ids = {f"e-{i}" for i in range(0, 40, 5)}
    with get_engine().connect() as conn:
        decided = dict(conn.execute(select(DecisionRow.event_id, DecisionRow.status)).all())
        alert_events = set(conn.scalars(select(AlertRow.event_id)))
    assert {e for e, s in decided.items() if s == "flagged"} == flagged_ids
    assert alert_events == flagged_ids


def test_concurrent_redelivery_never_duplicates(evaluator) -> None:
    from engine.pipeline.decide import decide_stored

    events = mixed_events("c", 60, flag_every=3)
    ids = [e["event_id"] for e in events]
    ingest_batch(events)
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(decide_stored(ids))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e for r in results for e in r) == sorted(ids)  # each decided by exactly one call
    assert count(DecisionRow) == 60
    with get_engine().connect() as conn:
        pairs = conn.execute(select(AlertRow.event_id, AlertRow.rule_id)).all()
    assert len(pairs) == len(set(pairs)) and {p[0] for p in pairs} == {
        f"c-{i}" for i in range(0, 60, 3)
    }


def test_ingest_raw_task_validates_stores_and_evaluates(evaluator) -> None:
    import json

    from engine.pipeline.tasks import ingest_raw

    bad = clear_event("raw:bad")
    bad["occurred_at"] = "soon"  # unusable envelope (a bad body value would be a finding)
    out = ingest_raw.apply(args=[json.dumps([flagged_event("raw:1"), bad])]).get()
    assert out["accepted"] == 1 and out["invalid"] == 1
    assert ingest_raw.apply(args=[clear_event("raw:2")]).get()["accepted"] == 1
    assert ingest_raw.apply(args=[clear_event("raw:2")]).get()["duplicate"] == 1
    assert ingest_raw.apply(args=["{not json"]).get() == {"invalid": 1}
    with get_engine().connect() as conn:
        decided = dict(conn.execute(select(DecisionRow.event_id, DecisionRow.status)).all())
    assert decided == {"raw:1": "flagged", "raw:2": "clear"}
    rej = rejections()
    assert [(c, e) for c, e, _ in rej] == [("queue", "raw:bad"), ("queue", None)]
    assert rej[0][2][0]["pointer"] == "/occurred_at"


def test_malformed_task_arguments_are_recorded_not_raised(db) -> None:
    from engine.pipeline.tasks import evaluate_events

    assert evaluate_events.apply(args=[{"not": "a list"}]).get() == 0
    assert evaluate_events.apply(args=[[1, 2]]).get() == 0
    assert [e[2][0]["type"] for e in rejections()] == ["malformed_task", "malformed_task"]


def test_unknown_event_ids_are_recorded(evaluator) -> None:
    from engine.pipeline.tasks import evaluate_events

    assert evaluate_events.apply(args=[["never-stored"]]).get() == 0
    rej = rejections()
    assert len(rej) == 1 and rej[0][2][0]["type"] == "unknown_event"


def test_event_detail_shows_decision_and_alerts(evaluator, api_client) -> None:
    from engine.pipeline.decide import decide_stored

    api_client.post("/api/v1/events", json=flagged_event("d:1"))
    decide_stored(["d:1"])
    body = api_client.get("/api/v1/events/d:1").json
    assert body["status"] == "decided"
    assert body["decision"]["status"] == "flagged" and body["decision"]["violations"]
    assert {a["rule_id"] for a in body["alerts"]} == {
        v["rule_id"] for v in body["decision"]["violations"]
    }


def test_screening_time_is_observed_per_decided_event(evaluator, api_client) -> None:
    # The real list is imported, so the event's parties are really screened: the histogram's
    # sum grows by the time that took, its count by one observation per decided event.
    from lists_support import list_file
    from prometheus_client import REGISTRY

    from engine.lists.importer import import_list
    from engine.pipeline.decide import decide_stored

    import_list(str(list_file("2026-05-08")), retro=False)

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    count_before = sample("sanctions_screening_seconds_count")
    sum_before = sample("sanctions_screening_seconds_sum")
    api_client.post("/api/v1/events", json=[flagged_event("scr:1"), clear_event("scr:2")])
    assert sorted(decide_stored(["scr:1", "scr:2"])) == ["scr:1", "scr:2"]
    assert sample("sanctions_screening_seconds_count") - count_before == 2
    assert sample("sanctions_screening_seconds_sum") > sum_before


def test_worker_processes_run_the_collector_less_often(db) -> None:
    """A pool process, once its pack is loaded, and the worker's main process (sweeper and
    journal sequencer) take engine.gc_tuning's thresholds: checked in a fresh interpreter, so
    this test process keeps its own."""
    import os
    import subprocess
    import sys

    from engine.gc_tuning import GC_THRESHOLDS

    code = (
        "import gc, sys\n"
        "from engine.pipeline import tasks\n"
        "own = gc.get_threshold()\n"
        "tasks._fresh_process()\n"
        "child = gc.get_threshold()\n"
        "gc.set_threshold(*own)\n"
        "tasks._long_lived_main_process()\n"
        "print(own, child, gc.get_threshold(), sep='|')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    assert out == f"(700, 10, 10)|{GC_THRESHOLDS}|{GC_THRESHOLDS}"

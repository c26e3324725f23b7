"""Scale out on the engine we already have (issue 9): two Celery worker processes and two web
processes (gunicorn) against one PostgreSQL and the machine's Redis, as several machines would run.

Asserts exactly-once decisions when every batch is posted to both web processes at once, no
duplicate alert, and correct cap totals when supplies of one cap are decided in parallel by
different workers. PostgreSQL pass only (SQLite is one machine's file by design)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from chaos_support import free_port, wait_until
from pipeline_support import mixed_events
from sqlalchemy import func, select

from engine.pipeline.worker import start_worker, stop_worker
from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres")
        or not os.environ.get("REDIS_URL", "").startswith("redis://"),
        reason="PostgreSQL + machine Redis pass only (make test-external)",
    ),
]

N = 600
FLAG_EVERY = 7
CAP_SUPPLIES = 12  # 12 x 50,000 bbl against the 500,000 bbl/year cap of 2397 OP5


def _supply(i: int) -> dict:
    return {
        "event_id": f"cap-{i:02d}",
        "event_type": "shipment",
        "occurred_at": f"2019-{1 + i // 2:02d}-{1 + 14 * (i % 2):02d}T08:00:00+00:00",
        "source": "scale-test",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "CN", "name": "Dalian"},
            "destination": {"country": "KP", "name": "Nampo"},
            "goods": [
                {"hs_code": "271019", "description": "diesel", "quantity": 50_000, "unit": "bbl"}
            ],
            "notification_ref": f"N-{i}",
        },
    }


@pytest.fixture
def stack(db: None, broker_url: str, tmp_path: Path):
    from web.auth.apikeys import create_api_key

    _row, key = create_api_key("scale", ["events:read", "events:write"], actor="pytest")
    env = dict(os.environ, REDIS_URL=broker_url, SANCTIONS_SWEEP_INTERVAL="0", PYTHONUNBUFFERED="1")
    bin_dir = Path(sys.executable).parent
    webs, urls, workers = [], [], []
    try:
        for n in range(2):
            port = free_port()
            urls.append(f"http://127.0.0.1:{port}")
            webs.append(
                subprocess.Popen(
                    [
                        str(bin_dir / "gunicorn"),
                        "--workers",
                        "1",
                        "--threads",
                        "4",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "web:create_app()",
                    ],
                    env=env,
                    stdout=open(tmp_path / f"web{n}.log", "ab"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            workers.append(
                start_worker(
                    env=env,
                    concurrency=1,
                    loglevel="INFO",
                    hostname=f"scale{n}@%h",
                    log_path=tmp_path / f"worker{n}.log",
                )
            )
        for url in urls:
            assert wait_until(lambda u=url: _up(u), timeout=180), url
        yield (
            urls,
            {"Authorization": f"Bearer {key}"},
            [tmp_path / f"worker{n}.log" for n in range(2)],
        )
    finally:
        for proc in workers + webs:
            stop_worker(proc, timeout=15)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _per_event(prefix: str) -> dict[str, int]:
    with get_engine().connect() as conn:
        return dict(
            conn.execute(
                select(DecisionRow.event_id, func.count())
                .where(DecisionRow.event_id.like(f"{prefix}-%"))
                .group_by(DecisionRow.event_id)
            ).all()
        )


def test_two_workers_two_webs_exactly_once_and_cap_totals(stack) -> None:
    urls, headers, logs = stack
    events = mixed_events("so", N, flag_every=FLAG_EVERY)
    batches = [events[i : i + 50] for i in range(0, N, 50)]
    clients = [httpx.Client(base_url=u, headers=headers, timeout=60) for u in urls]

    def post_both(batch: list[dict]) -> list[int]:
        # the same batch to both web processes at once: a client retrying on another machine
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda c: c.post("/api/v1/events", json=batch), clients))
        for a in answers:
            assert a.status_code == 202, a.text[:300]
        statuses = [x["status"] for a in answers for x in a.json()["results"]]
        assert statuses.count("accepted") == len(batch), "each event stored once"
        return [a.status_code for a in answers]

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(post_both, batches))
    assert wait_until(lambda: len(_per_event("so")) == N, timeout=300), len(_per_event("so"))
    per_event = _per_event("so")
    assert set(per_event.values()) == {1}
    with get_engine().connect() as conn:
        pairs = conn.execute(
            select(AlertRow.event_id, AlertRow.rule_id).where(AlertRow.event_id.like("so-%"))
        ).all()
    assert len(pairs) == len(set(pairs)), "duplicate alert"
    assert {p[0] for p in pairs} == {f"so-{i}" for i in range(0, N, FLAG_EVERY)}

    # Caps: all supplies stored first, then one task each, decided in parallel by both workers.
    from engine.pipeline.ingest import ingest_batch
    from engine.pipeline.tasks import evaluate_events

    results = ingest_batch([_supply(i) for i in range(CAP_SUPPLIES)], channel="cli")
    assert {r.status for r in results} == {"accepted"}
    for i in range(CAP_SUPPLIES):  # no coalescing announcement: one id per task
        evaluate_events.apply_async(([f"cap-{i:02d}"],), exchange="", routing_key="sanctions")
    assert wait_until(lambda: len(_per_event("cap")) == CAP_SUPPLIES, timeout=300)
    assert set(_per_event("cap").values()) == {1}
    with get_engine().connect() as conn:
        over = {
            event_id: violation["reason"]
            for event_id, rule_id, violation in conn.execute(
                select(AlertRow.event_id, AlertRow.rule_id, AlertRow.violation).where(
                    AlertRow.event_id.like("cap-%")
                )
            ).all()
            if rule_id == "UNSCR-2397-OP5"
        }
    # by occurred_at the 11th and 12th supplies take the year's total past 500,000 bbl
    assert set(over) == {"cap-10", "cap-11"}, over
    assert "550000" in _digits(over["cap-10"]) and "600000" in _digits(over["cap-11"])
    busy = [log.read_text(errors="replace").count("succeeded") for log in logs]
    assert all(busy), f"each worker decided some tasks: {busy}"


def _digits(text: str) -> str:
    return text.replace(",", "").replace(".0", "").replace("\u202f", "").replace(" bbl", "")

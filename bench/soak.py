"""Soak: push many events (default 200,000) through the whole stack and sample memory.

    .venv/bin/python bench/soak.py                    # 200,000 events, RSS every 10 s
    .venv/bin/python bench/soak.py -n 50000 --sample 5

The stack is bench/throughput.py's (gunicorn -> broker -> Celery worker -> SQLite, or
PostgreSQL with DATABASE_URL). Events are its mix (one in ten DPRK arms, flagged) plus one in a
hundred refined-petroleum supplies to the DPRK spread over 2017-2024, so the caps ledger reads
and caches stored events. The clients keep at most --backlog events undecided (a steady state,
not a queue that grows for ever). Every --sample seconds it prints the resident memory (RSS) of
the worker's main process, each pool process and the web processes; at the end, RSS at each
quarter of the run. Memory must plateau: the last two quarters should differ by noise only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import Stack, decided, make_event


def cap_supply(run: str, i: int) -> dict[str, Any]:
    year = 2017 + (i // 100) % 8
    return {
        "event_id": f"{run}-{i}",
        "event_type": "shipment",
        "occurred_at": f"{year}-{1 + i % 12:02d}-15T08:00:00+00:00",
        "source": "soak",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "CN"},
            "destination": {"country": "KP"},
            "goods": [
                {"hs_code": "271019", "description": "diesel", "quantity": 100, "unit": "bbl"}
            ],
            "notification_ref": f"N-{i}",
        },
    }


def event(run: str, i: int) -> dict[str, Any]:
    return cap_supply(run, i) if i % 100 == 55 else make_event(run, i)


def rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 1e6
    except psutil.Error:
        return 0.0


def sample(stack: Stack) -> dict[str, Any]:
    worker = psutil.Process(stack.worker.pid)
    pool = sorted(worker.children(recursive=True), key=lambda p: p.pid)
    webs = [psutil.Process(w.pid) for w in stack.webs]
    web_all = webs + [c for w in webs for c in w.children(recursive=True)]
    return {
        "main": rss_mb(worker),
        "pool": [(p.pid, rss_mb(p)) for p in pool],
        "web": sum(rss_mb(p) for p in web_all),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=5_000, help="most events undecided")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    stack = Stack(web_workers=2, worker_concurrency=args.concurrency)
    run = f"k{uuid.uuid4().hex[:6]}"
    sent = 0
    lock = threading.Lock()
    stop = threading.Event()
    samples: list[tuple[float, int, int, dict[str, Any]]] = []
    started = time.monotonic()
    print(
        f"soak: {args.events:,} events in batches of {args.batch_size}, backlog <= {args.backlog:,}, "
        f"database {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    def sampler() -> None:
        while not stop.wait(args.sample):
            done = decided(run)
            s = sample(stack)
            with lock:
                pushed = sent
            samples.append((time.monotonic() - started, pushed, done, s))
            pool = " ".join(f"{mb:6.0f}" for _, mb in s["pool"])
            print(
                f"{time.monotonic() - started:7.0f} s  pushed {pushed:>8,}  decided {done:>8,}  "
                f"worker main {s['main']:5.0f} MB  pool [{pool}] MB  web {s['web']:5.0f} MB  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    threading.Thread(target=sampler, daemon=True).start()
    import httpx

    local = threading.local()
    counter = iter(range(1 << 30))

    def send(start: int) -> None:
        nonlocal sent
        if not hasattr(local, "c"):
            local.c = httpx.Client(
                base_url=stack.url_for(next(counter)), headers=stack.headers, timeout=120
            )
        while True:  # back-pressure: a steady state, not an ever-growing queue
            with lock:
                ahead = sent
            if ahead - decided(run) < args.backlog:
                break
            time.sleep(0.5)
        body = [event(run, i) for i in range(start, min(args.events, start + args.batch_size))]
        r = local.c.post("/api/v1/events", json=body)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code} {r.text[:200]}")
        with lock:
            sent += len(body)

    try:
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(send, range(0, args.events, args.batch_size)))
        deadline = time.monotonic() + 600
        while decided(run) < args.events and time.monotonic() < deadline:
            time.sleep(1)
        stop.set()
        elapsed = time.monotonic() - started
        final = sample(stack)
        samples.append((elapsed, sent, decided(run), final))
        print(f"\n{decided(run):,} of {args.events:,} decided in {elapsed:.0f} s "
              f"({decided(run) / elapsed:.0f} events/s), load {os.getloadavg()[0]:.1f}")  # fmt: skip
        print("RSS by progress (decided events): worker pool processes (sum), main, web")
        for q in (0.25, 0.5, 0.75, 1.0):
            target = q * args.events
            row = next((x for x in samples if x[2] >= target), samples[-1])
            pool_sum = sum(mb for _, mb in row[3]["pool"])
            print(
                f"  {int(q * 100):3d}% ({row[2]:>8,} decided): pool {pool_sum:6.0f} MB "
                f"({len(row[3]['pool'])} processes), main {row[3]['main']:5.0f} MB, web {row[3]['web']:5.0f} MB"
            )
    finally:
        stop.set()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

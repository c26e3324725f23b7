"""End-to-end throughput and latency: HTTP (gunicorn) -> broker -> Celery worker -> database.

    .venv/bin/python bench/throughput.py                 # 20,000 events, both modes
    .venv/bin/python bench/throughput.py -n 5000 --mode batch
    .venv/bin/python bench/throughput.py --evaluator     # delegate to bench/evaluator.py
    .venv/bin/python bench/throughput.py --journal-compare -n 10000  # journal's cost (issue 15)
    .venv/bin/python bench/throughput.py --journal-compare --sequencer-root ../old  # and another
                                                     # checkout's sequencer, interleaved
    .venv/bin/python bench/throughput.py --workers 2 --web 2   # scale out: 2 Celery workers,
                                                     # 2 gunicorn instances (clients round-robin)

Starts its own stack in a scratch data dir: the embedded Redis (or REDIS_URL), SQLite (or
DATABASE_URL, in a scratch schema), `sanctions migrate`, gunicorn serving web:create_app(), and a
Celery worker (engine.pipeline.worker.start_worker). Then:

- single: one event per POST at a paced rate (--rate, default 300/s), several client threads;
- batch: POSTs of 100 events as fast as the clients go.

For each mode it waits until every event has a decision and prints events/s (first push to last
decision) and push-to-decision latency p50/p95/p99 (decision.evaluated_at - event.received_at).
Targets on the 2-core box: batch >= 5,000 events/s; single 300/s with p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COUNTRIES = ["JP", "US", "DE", "FR", "SG", "AE", "CN", "BR", "IN", "NL"]


def make_event(run: str, i: int) -> dict[str, Any]:
    """Shipments: one in ten is arms out of the DPRK (flagged), the rest ordinary trade."""
    if i % 10 == 0:
        origin, dest, goods = (
            {"country": "KP", "name": "Najin"},
            {"country": "RU", "name": "Dunay"},
            {
                "hs_code": "9306",
                "description": "artillery ammunition",
                "quantity": 10,
                "unit": "container",
            },
        )
    else:
        a, b = random.sample(COUNTRIES, 2)
        origin, dest, goods = (
            {"country": a},
            {"country": b},
            {
                "hs_code": random.choice(["847130", "870323", "300490", "610910"]),
                "description": "general cargo",
                "quantity": random.randint(1, 500),
                "unit": "pcs",
            },
        )
    return {
        "event_id": f"{run}-{i}",
        "event_type": "shipment",
        "occurred_at": "2025-06-01T08:00:00+00:00",
        "source": "bench",
        "shipment": {"mode": "sea", "origin": origin, "destination": dest, "goods": [goods]},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Stack:
    """Broker, database, ``web`` gunicorn instances and ``workers`` Celery workers, all in a
    scratch data dir; stop() ends them. Several web instances stand for several web machines
    behind a load balancer (the clients round-robin over them); several workers for several
    worker machines on one broker."""

    def __init__(
        self, web_workers: int, worker_concurrency: int, web: int = 1, workers: int = 1
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sanctions-bench-"))
        os.environ["SANCTIONS_DATA_DIR"] = str(self.dir)
        os.environ.setdefault("SANCTIONS_SECRET_KEY", "bench")
        os.environ["SANCTIONS_SWEEP_INTERVAL"] = "0"
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            os.environ["SANCTIONS_DB_SCHEMA"] = f"bench_{uuid.uuid4().hex[:8]}"
        from engine.pipeline.broker import broker_url
        from engine.storage.db import migrate

        self.broker = broker_url()
        migrate()
        self.env = dict(os.environ, REDIS_URL=self.broker)
        bin_dir = Path(sys.executable).parent
        self.webs: list[subprocess.Popen] = []
        self.urls: list[str] = []
        for _ in range(web):
            port = free_port()
            self.urls.append(f"http://127.0.0.1:{port}")
            self.webs.append(
                subprocess.Popen(
                    [
                        str(bin_dir / "gunicorn"),
                        "-c",
                        "python:web.gunicorn_conf",  # the settings `sanctions run` serves with
                        "--workers",
                        str(web_workers),
                        "--worker-class",
                        "gthread",
                        "--threads",
                        "4",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--log-level",
                        "warning",
                        "web:create_app()",
                    ],
                    env=self.env,
                    cwd=ROOT,
                    start_new_session=True,
                )
            )
        self.url = self.urls[0]
        from engine.pipeline.worker import start_worker

        self.workers = [
            start_worker(
                env=self.env,
                concurrency=worker_concurrency,
                loglevel=os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
                hostname=f"bench{n}@%h",
                log_path=self.dir / f"worker{n}.log",
            )
            for n in range(workers)
        ]
        self.worker = self.workers[0]
        self.headers = {"Content-Type": "application/json"}
        try:
            from web.auth.apikeys import create_api_key
        except ImportError:
            pass
        else:
            _row, key = create_api_key("bench", ["events:read", "events:write"], actor="bench")
            self.headers["Authorization"] = f"Bearer {key}"
        for url in self.urls:
            self._wait_http(url)
        self.redis_pid = 0  # the embedded redis-server, when the bench started it
        if not os.environ.get("REDIS_URL"):
            from engine.pipeline.broker import embedded

            try:
                self.redis_pid = int(embedded().pidfile.read_text())
            except (OSError, ValueError):
                pass

    def url_for(self, i: int) -> str:
        """Round-robin over the web instances (a load balancer's simplest policy)."""
        return self.urls[i % len(self.urls)]

    def _wait_http(self, url: str) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer")

    def stop(self) -> None:
        import signal

        from engine.pipeline.broker import embedded
        from engine.pipeline.worker import stop_worker

        for worker in self.workers:
            stop_worker(worker)
        for web in self.webs:
            try:
                os.killpg(web.pid, signal.SIGTERM)
                web.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(web.pid, signal.SIGKILL)
        if not os.environ.get("REDIS_URL"):
            embedded().stop()


def _proc_cpu() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user+system CPU seconds) of every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack (a process and its descendants), and by
    this process (the load generator). Per-event CPU is what the load of other processes on the
    shared box does not change much, unlike events/s."""
    procs = _proc_cpu()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in procs.items():
        children.setdefault(ppid, []).append(pid)

    def tree(root: int) -> set[int]:
        pids, todo = set(), [root]
        while todo:
            pid = todo.pop()
            if pid in procs and pid not in pids:
                pids.add(pid)
                todo.extend(children.get(pid, ()))
        return pids

    roots = {
        "worker": [w.pid for w in stack.workers],
        "web": [w.pid for w in stack.webs],
        "redis": [stack.redis_pid] if stack.redis_pid else [],
    }
    owned = {name: set().union(*(tree(r) for r in rs)) for name, rs in roots.items() if rs}
    owned["bench"] = tree(os.getpid()) - set().union(*owned.values())
    parts = {name: sum(procs[p][1] for p in pids) for name, pids in owned.items()}
    return parts


def decided(prefix: str) -> int:
    from sqlalchemy import func, select

    from engine.storage.db import get_engine
    from engine.storage.tables import DecisionRow

    with get_engine().connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(DecisionRow)
                .where(DecisionRow.event_id.like(f"{prefix}-%"))
            )
            or 0
        )


def latencies(prefix: str) -> tuple[list[float], datetime, datetime]:
    from sqlalchemy import select

    from engine.storage.db import get_engine
    from engine.storage.repository import as_utc
    from engine.storage.tables import DecisionRow, EventRow

    with get_engine().connect() as conn:
        rows = conn.execute(
            select(EventRow.received_at, DecisionRow.evaluated_at)
            .join(DecisionRow, DecisionRow.event_id == EventRow.event_id)
            .where(EventRow.event_id.like(f"{prefix}-%"))
        ).all()
    lat = [(as_utc(d) - as_utc(r)).total_seconds() * 1000 for r, d in rows]
    return lat, min(as_utc(r) for r, _ in rows), max(as_utc(d) for _, d in rows)


def wait_all(prefix: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while decided(prefix) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {decided(prefix)} of {n} decided after {timeout:.0f} s")
        time.sleep(0.25)


def run_single(stack: Stack, n: int, rate: float, clients: int) -> dict[str, Any]:
    import httpx

    prefix = f"s{uuid.uuid4().hex[:6]}"
    events = [make_event(prefix, i) for i in range(n)]
    local = threading.local()
    errors: list[str] = []

    counter = iter(range(1 << 30))

    def client() -> httpx.Client:
        if not hasattr(local, "c"):
            url = stack.url_for(next(counter))  # each client thread sticks to one instance
            local.c = httpx.Client(base_url=url, headers=stack.headers, timeout=30)
        return local.c

    start = time.monotonic() + 0.2

    def send(i: int) -> None:
        delay = start + i / rate - time.monotonic()  # open loop: the schedule does not wait for us
        if delay > 0:
            time.sleep(delay)
        r = client().post("/api/v1/events", json=events[i])
        if r.status_code != 202:
            errors.append(f"{r.status_code} {r.text[:200]}")

    wall0 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(n)))
    pushed = time.time() - wall0
    if errors:
        raise RuntimeError(f"{len(errors)} failed posts, e.g. {errors[0]}")
    wait_all(prefix, n, timeout=max(120, n / 50))
    lat, first, last = latencies(prefix)
    return {
        "mode": f"single @ {rate:.0f}/s offered",
        "events": n,
        "push_s": pushed,
        "events_per_s": n / (last - first).total_seconds(),
        "lat": lat,
    }


def run_batch(stack: Stack, n: int, batch: int, clients: int) -> dict[str, Any]:
    import httpx

    prefix = f"b{uuid.uuid4().hex[:6]}"
    bodies = []
    for start in range(0, n, batch):
        bodies.append([make_event(prefix, i) for i in range(start, min(n, start + batch))])
    local = threading.local()
    counter = iter(range(1 << 30))

    def send(body: list[dict[str, Any]]) -> int:
        if not hasattr(local, "c"):
            url = stack.url_for(next(counter))
            local.c = httpx.Client(base_url=url, headers=stack.headers, timeout=60)
        r = local.c.post("/api/v1/events", json=body)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code} {r.text[:200]}")
        return len(body)

    cpu0 = stack_cpu(stack)
    wall0 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        sent = sum(pool.map(send, bodies))
    pushed = time.time() - wall0
    wait_all(prefix, sent, timeout=max(120, n / 200))
    cpu1 = stack_cpu(stack)
    lat, first, last = latencies(prefix)
    return {
        "mode": f"batches of {batch}",
        "events": n,
        "push_s": pushed,
        "events_per_s": n / (last - first).total_seconds(),
        "lat": lat,
        "cpu": {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1},
    }


def report(result: dict[str, Any]) -> None:
    lat = result["lat"]
    print(
        f"{result['mode']:>24}: {result['events']} events, pushed in {result['push_s']:.1f} s "
        f"({result['events'] / result['push_s']:.0f}/s accepted); end to end {result['events_per_s']:.0f} events/s; "
        f"push-to-decision ms p50 {percentile(lat, 50):.1f} p95 {percentile(lat, 95):.1f} "
        f"p99 {percentile(lat, 99):.1f} max {max(lat):.1f} (mean {statistics.fmean(lat):.1f})",
        flush=True,
    )
    cpu = result.get("cpu")
    if cpu:
        # The waiting loop polls the DB every 0.25 s: "bench" includes it (and the HTTP client).
        n = result["events"]
        parts = ", ".join(f"{k} {v / n * 1000:.3f}" for k, v in cpu.items())
        stack_ms = sum(v for k, v in cpu.items() if k != "bench") / n * 1000
        print(
            f"{'':>24}  CPU ms per event: {parts}; stack (all but bench) {stack_ms:.3f} ms "
            f"-> {2000 / stack_ms:,.0f} events/s if the 2 cores did nothing else",
            flush=True,
        )


def start_sequencer() -> None:
    """The journal's sequencer every 2 s, as the sweeper thread of a worker does (more often)."""
    from engine.audit.sequencer import sequence_all

    def _sequence() -> None:
        while True:
            sequence_all()
            time.sleep(2)

    threading.Thread(target=_sequence, daemon=True).start()


SEQUENCER_LOOP = """
import gc, os, signal, sys, time
from engine.audit.sequencer import tick
# the collector's thresholds of a worker's main process, where the sequencer runs (the sweeper
# thread; engine.gc_tuning), also for an older checkout that did not set them yet
gc.set_threshold(*map(int, sys.argv[2].split(",")))
tick()  # with a key: a first head (interval 0), which builds this process's Merkle tree
if "BENCH_HEAD_INTERVAL" in os.environ:  # then heads as often as asked (read on each tick)
    os.environ["SANCTIONS_AUDIT_HEAD_INTERVAL"] = os.environ["BENCH_HEAD_INTERVAL"]
out = os.environ.get("BENCH_SEQUENCER_PROFILE")
if out:  # cProfile of the ticks from here on, written when the bench ends the process
    import cProfile
    prof = cProfile.Profile()
    def _dump(*_):
        prof.disable()
        prof.dump_stats(out)
        os._exit(0)
    signal.signal(signal.SIGTERM, _dump)
    prof.enable()
print("ready", flush=True)  # imported and warm: its CPU from here on is the sequencing
while True:
    time.sleep(float(sys.argv[1]))
    tick()  # what the sweeper thread of a worker runs
"""


def sequencer_process(
    stack: Stack, interval: float, root: Path, profile: str = "", head_interval: float | None = None
) -> subprocess.Popen:
    """The sequencer in a process of its own (the code of ``root``: this tree, or an older
    checkout to compare), so its CPU is measured exactly and it takes no GIL from the clients.
    With ``head_interval`` it signs tree heads too, as a worker with a key does (production's
    default: every 300 s), after a first one before the measurement starts."""
    from engine.audit.signing import generate_key
    from engine.gc_tuning import GC_THRESHOLDS

    env = dict(stack.env, PYTHONPATH=str(root), SANCTIONS_AUDIT_SEQUENCE="1")
    env.pop("SANCTIONS_AUDIT_KEY_FILE", None)
    if head_interval is not None:
        key = stack.dir / "audit-bench.key"
        if not key.exists():
            generate_key(key)
        env.update(
            SANCTIONS_AUDIT_KEY_FILE=str(key),
            SANCTIONS_AUDIT_HEAD_INTERVAL="0",
            BENCH_HEAD_INTERVAL=str(head_interval),
        )
    if profile:
        env["BENCH_SEQUENCER_PROFILE"] = profile
    proc = subprocess.Popen(
        [sys.executable, "-c", SEQUENCER_LOOP, str(interval), ",".join(map(str, GC_THRESHOLDS))],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the sequencer process did not start")
    return proc


def release_sequencer_lock(stack: Stack) -> None:
    """The sequencer's Redis lock as a terminated process may have left it (mid tick: held for
    its 600 s timeout, so the next run's sequencer skipped every tick and journaled nothing)."""
    import redis

    from engine.audit.sequencer import LOCK_KEY

    url = stack.broker.replace("redis+socket://", "unix://")
    redis.Redis.from_url(url, socket_timeout=3).delete(LOCK_KEY)


def unjournaled() -> int:
    """Rows of every journaled table without a journal entry yet. The run is timed until all
    are journaled, not only its decisions: a pass takes PASS_LIMIT rows in kind order (events,
    then decisions, then alerts, cases...), so the other kinds of a run's last events came one
    tick later, and that sequencing was counted by nobody (done by the next run's catch-up)."""
    from sqlalchemy import func, select

    from engine.audit.records import sources
    from engine.audit.sequencer import ENTRIES
    from engine.storage.db import get_engine

    with get_engine().connect() as conn:
        journaled: dict[str, int] = {
            kind: int(n)
            for kind, n in conn.execute(
                select(ENTRIES.c.kind, func.count()).group_by(ENTRIES.c.kind)
            )
        }
        rows = sum(
            (conn.scalar(select(func.count()).select_from(src.table)) or 0)
            - journaled.get(src.kind, 0)
            for src in sources()
        )
    return int(rows)


def _proc_tree_cpu(pid: int) -> float:
    procs = _proc_cpu()
    return sum(cpu for p, (ppid, cpu) in procs.items() if p == pid or ppid == pid)


def _proc_system_cpu(pid: int) -> float:
    """System (kernel) CPU seconds of one process: the sequencer's reads and writes of database
    pages through the kernel, beside its own work."""
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read()
    return int(stat[stat.rindex(")") + 2 :].split()[12]) / os.sysconf("SC_CLK_TCK")


def journal_compare(stack: Stack, args: argparse.Namespace) -> int:
    """Batched end to end without and with the journal's sequencer (issue 15: < 10%), runs
    interleaved (off, on, on, off, ...) on one stack. The sequencer runs in its own process
    every --sequencer-interval s; each "on" run counts its CPU until every row the run wrote is
    journaled (the sequencer keeping up is part of the cost), and says how long after the last
    decision that was."""
    from engine.audit.sequencer import sequence_all

    roots = {"journal": ROOT}
    if args.sequencer_root:
        roots["journal (" + Path(args.sequencer_root).name + ")"] = Path(args.sequencer_root)
    plan: list[str | None] = []
    for rep in range(args.repeat):
        modes: list[str | None] = [None, *roots]
        plan += modes if rep % 2 == 0 else modes[::-1]
    results: dict[str | None, list[dict[str, Any]]] = {}
    for mode in plan:
        caught_up = sequence_all()  # journal what is there already, outside the measured run
        proc = None
        if mode is not None:
            prof = ""
            if args.sequencer_profile:
                Path(args.sequencer_profile).mkdir(parents=True, exist_ok=True)
                prof = str(Path(args.sequencer_profile) / f"run{len(results.get(mode, []))}.prof")
            proc = sequencer_process(
                stack,
                args.sequencer_interval,
                roots[mode],
                prof,
                None if args.head_interval < 0 else args.head_interval,
            )
            cpu0, sys0 = _proc_tree_cpu(proc.pid), _proc_system_cpu(proc.pid)
        try:
            r = run_batch(stack, args.events, args.batch_size, args.clients)
            if proc is not None:
                done = time.time()
                while unjournaled() > 0 and time.time() - done < 300:
                    time.sleep(0.2)
                r["lag_s"] = time.time() - done
                r["seq_cpu"] = _proc_tree_cpu(proc.pid) - cpu0
                r["seq_sys"] = _proc_system_cpu(proc.pid) - sys0
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
                release_sequencer_lock(stack)
        r["mode"] += f" + {mode}" if mode else " (no journal)"
        report(r)
        load = os.getloadavg()
        extra = f"; caught up {caught_up} entries before" if caught_up else ""
        if mode is not None:
            extra += (
                f"; sequencer {r['seq_cpu'] / args.events * 1000:.3f} ms CPU per event"
                f" ({r['seq_sys'] / args.events * 1000:.3f} system), journal"
                f" caught up {r['lag_s']:.1f} s after the last decision"
            )
        print(f"{'':>24}  load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}{extra}", flush=True)
        results.setdefault(mode, []).append(r)
    off = results[None]
    stack_ms = statistics.fmean(
        sum(v for k, v in r["cpu"].items() if k != "bench") / args.events * 1000 for r in off
    )
    off_rate = statistics.fmean(r["events_per_s"] for r in off)
    for mode in roots:
        on = results[mode]
        rate = statistics.fmean(r["events_per_s"] for r in on)
        seq_ms = statistics.fmean(r["seq_cpu"] / args.events * 1000 for r in on)
        print(
            f"{mode}: batched end to end {off_rate:,.0f} -> {rate:,.0f} events/s "
            f"({rate / off_rate - 1:+.1%}; target > -10%), means of {len(off)} and {len(on)} runs; "
            f"sequencer CPU {seq_ms:.3f} ms per event = {seq_ms / stack_ms:.1%} of the stack's "
            f"{stack_ms:.3f} ms (CPU share {seq_ms / (seq_ms + stack_ms):.1%}); "
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-n", "--events", type=int, default=20_000, help="events per mode (default 20,000)"
    )
    parser.add_argument("--mode", choices=["single", "batch", "both"], default="both")
    parser.add_argument(
        "--single-events", type=int, help="events for the single mode (default: --events)"
    )
    parser.add_argument(
        "--rate", type=float, default=300.0, help="offered rate in single mode (events/s)"
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=2, help="pool processes per Celery worker"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Celery worker instances (one broker)"
    )
    parser.add_argument(
        "--web", type=int, default=1, help="gunicorn instances (clients round-robin over them)"
    )
    parser.add_argument(
        "--evaluator", action="store_true", help="run bench/evaluator.py instead (rules developer)"
    )
    parser.add_argument(
        "--journal",
        action="store_true",
        help="run the audit journal's sequencer every 2 s during the run (its cost, issue 15)",
    )
    parser.add_argument(
        "--journal-compare",
        action="store_true",
        help="batch mode twice on one stack, sequencer off then on, and the cost in %% (issue 15)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="--journal-compare: runs of each (interleaved)"
    )
    parser.add_argument(
        "--head-interval",
        type=float,
        default=300.0,
        help="--journal-compare: seconds between signed tree heads (the default's, 300; 0: on "
        "every tick that appended; -1: no key, no heads)",
    )
    parser.add_argument(
        "--sequencer-interval",
        type=float,
        default=2.0,
        help="--journal-compare: seconds between the sequencer's ticks (the worker's default 30)",
    )
    parser.add_argument(
        "--sequencer-profile",
        metavar="DIR",
        help="--journal-compare: cProfile each on run's sequencer process into DIR/runN.prof",
    )
    parser.add_argument(
        "--sequencer-root",
        help="--journal-compare: also run the sequencer of another checkout (before/after)",
    )
    args = parser.parse_args()
    if args.evaluator:
        path = ROOT / "bench" / "evaluator.py"
        return subprocess.call([sys.executable, str(path), *sys.argv[2:]], cwd=ROOT)

    stack = Stack(args.web_workers, args.concurrency, web=args.web, workers=args.workers)
    try:
        load = os.getloadavg()
        print(
            f"stack: {args.web} gunicorn x {args.web_workers}x4 threads at {', '.join(stack.urls)}, "
            f"{args.workers} worker(s) x concurrency {args.concurrency}, load {load[0]:.1f}/{load[1]:.1f}, "
            f"broker {stack.broker}, database {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}; "
            f"started {datetime.now(UTC):%H:%M:%S} UTC",
            flush=True,
        )
        # warm-up: first requests load the rule pack in the worker processes
        report(run_batch(stack, 400, args.batch_size, 2))
        if args.journal_compare:
            return journal_compare(stack, args)
        if args.journal:
            start_sequencer()
        if args.mode in ("batch", "both"):
            report(run_batch(stack, args.events, args.batch_size, args.clients))
        if args.mode in ("single", "both"):
            report(
                run_single(
                    stack, args.single_events or args.events, args.rate, max(8, args.clients)
                )
            )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

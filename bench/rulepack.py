"""What the full rule pack costs against the first one (rules/dprk/arms), evaluator alone.

    .venv/bin/python bench/rulepack.py                 # 20,000 events per configuration
    .venv/bin/python bench/rulepack.py --events 40000 --repeat 3

Configurations, same generated events (bench/evaluator.py's generator) in one process:
  first      the first pack (dprk/arms), no caps ledger
  full       every rule file, no caps ledger (cap rules see an unknown total)
  full+caps  every rule file with the caps ledger over an in-memory event store holding the
             same events (the worker uses the events table instead)
Prints events/s of evaluate_many (batches of 1000), per-event cost, and the ratio to `first`.
The best of --repeat runs is reported, by wall clock and by this process's CPU time (on a shared
machine the CPU-time rate is the one-process throughput; wall clock includes waiting for a core).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from evaluator import make_event  # noqa: E402

from engine.rules.caps import CapsLedger, MemoryEvents  # noqa: E402
from engine.rules.evaluator import Evaluator  # noqa: E402
from engine.rules.loader import pack_from_files, read_files  # noqa: E402


def run(ev: Evaluator, events: list, batch: int) -> tuple[float, float, int]:
    """(events/s wall clock, events/s of this process's CPU time, flagged)."""
    ev.evaluate_many(events[:200])
    t0, c0 = time.perf_counter(), time.process_time()
    flagged = 0
    for start in range(0, len(events), batch):
        flagged += sum(
            d.status == "flagged" for d in ev.evaluate_many(events[start : start + batch])
        )
    return (
        len(events) / (time.perf_counter() - t0),
        len(events) / (time.process_time() - c0),
        flagged,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    files = read_files(ROOT / "rules")
    first = pack_from_files({p: t for p, t in files.items() if p.startswith("dprk/arms")})
    full = pack_from_files(files)
    rng = random.Random(args.seed)
    events = [make_event(i, rng) for i in range(args.events)]
    configs = {
        "first": Evaluator(first),
        "full": Evaluator(full),
        "full+caps": Evaluator(full, caps=CapsLedger(full.rules, MemoryEvents(list(events)))),
    }
    base = None
    for name, ev in configs.items():
        best, best_cpu, flagged = 0.0, 0.0, 0
        for _ in range(args.repeat):
            rate, cpu_rate, flagged = run(ev, events, args.batch)
            best, best_cpu = max(best, rate), max(best_cpu, cpu_rate)
        base = base or best_cpu
        print(
            f"{name:10s} {len(ev.pack.rules):3d} rules {len(ev.compiled.definitions):4d} durable rules: "
            f"{best:8,.0f} events/s wall, {best_cpu:8,.0f} events/s of CPU ({1000 / best_cpu:.3f} ms CPU/event)  "
            f"x{base / best_cpu:.2f} cost vs first  ({flagged} of {len(events)} flagged)"
        )


if __name__ == "__main__":
    main()

"""Time the evaluator alone (no DB, no broker) on generated events.

    .venv/bin/python bench/evaluator.py                    # the first pack (rules/dprk/arms)
    .venv/bin/python bench/evaluator.py --pack all         # every rule file in rules/
    .venv/bin/python bench/evaluator.py --events 50000 --batch 1000

Prints events/s of evaluate_many (batched) and per-event latency percentiles of single
evaluate() calls.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.evaluation import Evaluator  # noqa: E402
from engine.models.events import Event  # noqa: E402
from engine.rules.loader import pack_from_files, read_files  # noqa: E402

COUNTRIES = ["CN", "RU", "DE", "US", "JP", "KR", "SG", "NL", "AE", "TR", "IN", "BR", "KP", "IR", "SY", "LY"]
HS = ["847130", "300490", "100630", "870323", "930690", "9306", "271019", "270112", "610910", "8471", "940360", "854231"]


def make_event(i: int, rng: random.Random) -> Event:
    start = datetime(2005, 1, 1, tzinfo=UTC)
    occurred = start + timedelta(seconds=rng.randrange(0, 20 * 365 * 86400))
    if i % 10 == 9:
        return Event.model_validate({
            "event_id": f"bench-{i}", "event_type": "vessel_movement", "occurred_at": occurred.isoformat(),
            "source": "bench",
            "vessel_movement": {
                "kind": rng.choice(["port_call", "ship_to_ship"]), "vessel": {"name": f"V{i}", "flag": rng.choice(COUNTRIES)},
                "port": {"country": rng.choice(COUNTRIES)}, "counterpart_vessel": {"name": "C", "flag": rng.choice(COUNTRIES)},
                "cargo_operation": rng.choice(["load", "discharge", "transfer"]),
                "cargo": [{"hs_code": rng.choice(HS), "quantity": 10, "unit": "t"}],
            },
        })  # fmt: skip
    lines = [{"hs_code": rng.choice(HS), "description": "goods", "quantity": rng.randint(1, 1000), "unit": "kg"} for _ in range(rng.randint(1, 3))]
    return Event.model_validate({
        "event_id": f"bench-{i}", "event_type": "shipment", "occurred_at": occurred.isoformat(), "source": "bench",
        "shipment": {
            "origin": {"country": rng.choice(COUNTRIES)}, "destination": {"country": rng.choice(COUNTRIES)},
            "route": [{"country": rng.choice(COUNTRIES)}] if rng.random() < 0.3 else [],
            "goods": lines,
            "parties": [{"role": "consignee", "name": "ACME", "country": rng.choice(COUNTRIES)}],
        },
    })  # fmt: skip


def raw_durable_baseline(n: int) -> float:
    """Events/s of bare durable_rules (5 single-fact rules, one small fact per event, assert_facts +
    retract_facts in batches of 1000, ~3% of facts matching), measured now on this machine so the
    evaluator figure can be read against the engine's own ceiling under the current load."""
    import durable.engine as de
    import durable_rules_engine as dre

    class QuietHost(de.Host):
        def _run(self) -> None:
            pass

    rules = {f"r{i}": {"all": [{"m": {"$and": [{"kind": "goods"}, {"from__KP": True}, {"hs2": str(93 - i)}]}}], "run": lambda c: None} for i in range(5)}
    host = QuietHost({"baseline": rules})
    rs = host.get_ruleset("baseline")
    rng = random.Random(1)
    docs = []
    for i in range(n):
        f = {"id": str(i + 1), "kind": "goods", "occurred": i, "hs2": str(rng.randint(89, 99)), "hs4": "9306"}
        if rng.random() < 0.15:
            f["from__KP"] = True
        docs.append(f)
    t0 = time.process_time()
    for start in range(0, n, 1000):
        payload = json.dumps(docs[start : start + 1000])
        for fn in (dre.assert_facts, dre.retract_facts):
            code, state = fn(rs._handle, payload)
            if state:
                rs.do_actions(state, lambda e, s: None)
    return n / (time.process_time() - t0)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default="dprk/arms", help="path prefix of rule files to load, or 'all'")
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--latency-samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    files = read_files(ROOT / "rules")
    if args.pack != "all":
        files = {p: t for p, t in files.items() if p.startswith(args.pack)}
    pack = pack_from_files(files)
    ev = Evaluator(pack)
    rng = random.Random(args.seed)
    events = [make_event(i, rng) for i in range(args.events)]
    ev.evaluate_many(events[:200])  # warm up
    # The pre-generated event pool is bench scaffolding (a worker holds ~100 events at a time):
    # move it out of the collector's way so GC passes over it are not charged to the evaluator.
    gc.collect()
    gc.freeze()

    t0, c0 = time.perf_counter(), time.process_time()
    flagged = 0
    for start in range(0, len(events), args.batch):
        for d in ev.evaluate_many(events[start : start + args.batch]):
            flagged += d.status == "flagged"
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0

    lat = []
    for e in events[: args.latency_samples]:
        t = time.perf_counter()
        ev.evaluate(e)
        lat.append((time.perf_counter() - t) * 1000)
    baseline = raw_durable_baseline(len(events))

    print(f"pack {pack.version[:12]}: {len(pack.rules)} rules, {len(ev.compiled.definitions)} durable rules ({args.pack})")
    print(
        f"evaluate_many: {len(events)} events, {flagged} flagged ({flagged / len(events):.1%}), batch {args.batch}: "
        f"{len(events) / elapsed:,.0f} events/s wall, {len(events) / cpu:,.0f} events/s of process CPU"
    )
    print(
        f"evaluate (single event) latency ms: p50 {pct(lat, 50):.3f}  p95 {pct(lat, 95):.3f}  "
        f"p99 {pct(lat, 99):.3f}  mean {statistics.fmean(lat):.3f}"
    )
    print(f"raw durable_rules baseline on this machine now: {baseline:,.0f} events/s of process CPU")
    print(f"load average: {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())} (2 cores)")


if __name__ == "__main__":
    main()

"""Screening benchmark: per-party latency, events/s inside evaluation, precision and recall.

    .venv/bin/python bench/screening.py [--list ../shared/data/un-consolidated/consolidated-2026-05-08.xml]

Latency: each party name is screened once against the full list (primary names, aliases and
original-script names), so the name cache is cold for every measurement. Throughput: shipment
events with six parties each plus a vessel, names drawn from a pool (as in a real stream, where
counterparties repeat) and, separately, with every name unique. Precision and recall: real list
names under variations and look-alikes (engine.screening.quality), over a threshold sweep; then
the independent evaluation set (engine.screening.evaluation_set: real list and designated-vessel
names under the variants real data carries, real look-alikes and real-world names), by kind and
by variant, at the default threshold.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.lists.parser import parse_list  # noqa: E402
from engine.models.events import Event, Party  # noqa: E402
from engine.screening.evaluation_set import (  # noqa: E402
    build_cases,
    load_vessel_rows,
    register_from_rows,
    score_cases,
    split_halves,
)
from engine.screening.normalize import fold_token, normalise, phonetic  # noqa: E402
from engine.screening.quality import build_probes, evaluate  # noqa: E402
from engine.screening.service import Screener  # noqa: E402
from engine.screening.settings import ScreeningSettings  # noqa: E402
from engine.screening.vessels import load_register  # noqa: E402

DEFAULT_LIST = ROOT.parent / "shared" / "data" / "un-consolidated" / "consolidated-2026-05-08.xml"
DEFAULT_VESSELS = ROOT.parent / "shared" / "data" / "un-vessels" / "designated-vessels.csv"
WORDS = [
    "Global",
    "Star",
    "Ocean",
    "Pacific",
    "Golden",
    "Dragon",
    "Eastern",
    "Silk",
    "Road",
    "Bright",
    "Future",
    "Harbor",
    "Sun",
    "Moon",
    "River",
    "Delta",
    "Summit",
    "Crown",
    "Royal",
    "Atlas",
    "Nova",
    "Prime",
    "United",
    "Green",
    "Blue",
    "Red",
    "Jade",
    "Pearl",
    "Lotus",
    "Phoenix",
    "Tiger",
    "Eagle",
    "Falcon",
    "Horizon",
    "Alpha",
    "Omega",
    "Delta",
    "Sigma",
    "Vertex",
    "Apex",
    "Zenith",
    "Orient",
    "Meridian",
    "Coastal",
    "Northern",
    "Southern",
    "Western",
    "Union",
    "Liberty",
    "Victory",
    "Fortune",
    "Harmony",
]
FORMS = [
    "Trading Co., Ltd.",
    "LLC",
    "Shipping Ltd",
    "Logistics GmbH",
    "Import Export JSC",
    "Holdings Pte Ltd",
    "Industrial Corp",
    "S.A.",
    "FZE",
    "",
]


def synthetic_names(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add(" ".join(rng.sample(WORDS, rng.choice([1, 2, 2, 3]))) + " " + rng.choice(FORMS))
    return [o.strip() for o in out]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", type=Path, default=DEFAULT_LIST)
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--parties", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--vessels", type=Path, default=DEFAULT_VESSELS)
    ap.add_argument("--seed", type=int, default=2026, help="seed of the independent evaluation set")
    ap.add_argument("--eval-only", action="store_true", help="only the independent evaluation")
    ap.add_argument(
        "--half",
        choices=["development", "held-out", "all", "each"],
        default="each",
        help="which half of the evaluation set to report (each: both halves and the whole)",
    )
    ap.add_argument("--misses", action="store_true", help="print every miss and false alert")
    args = ap.parse_args()
    rng = random.Random(2026)

    t0 = time.perf_counter()
    parsed = parse_list(args.list.read_bytes())
    register = load_register(ROOT / "rules" / "vessels" / "designated-vessels.yaml")
    screener = Screener.from_entries(parsed.entries, parsed.sha256, parsed.date_generated, register)
    build = time.perf_counter() - t0
    gc.freeze()  # what default_screener() does: the long-lived index leaves the GC's scans
    snap: Any = screener.snapshots[0]  # from_entries: one built snapshot index
    print(
        f"list {args.list.name}: {len(parsed.entries)} entries, {len(snap.names.records)} indexed "
        f"names; parse+index {build:.2f} s"
    )

    when = datetime(2026, 6, 1, tzinfo=UTC)
    if args.eval_only:
        independent_evaluation(parsed, args.vessels, args.seed, _halves(args.half), args.misses)
        return
    probes = build_probes(parsed.entries, n=600, seed=99)
    list_like = [p.query for p in probes]
    names = list(dict.fromkeys(list_like + synthetic_names(rng, args.parties)))[: args.parties]
    rng.shuffle(names)

    def cold() -> None:
        """Forget every cached name: each round measures first-time screening."""
        normalise.cache_clear()
        fold_token.cache_clear()
        phonetic.cache_clear()
        built: list[Any] = [*screener.snapshots, screener.vessels]  # built indexes, not lazy
        for index in built:
            index.names.forget()

    # -- per-party latency (cold name cache) --------------------------------------------------
    # The machine is shared: other processes preempt us (wall time) and compete for caches (CPU
    # time). Each name is measured in every round, caches cleared between rounds, and the best
    # round per name is kept, as timeit does; the load average is printed beside the figures.
    parties = [Party(role="consignee", name=name) for name in names]
    best_wall = [float("inf")] * len(parties)
    best_cpu = [float("inf")] * len(parties)
    for _ in range(args.rounds):
        cold()
        for i, party in enumerate(parties):
            t, c = time.perf_counter_ns(), time.thread_time_ns()
            screener.screen_party(party, when)
            best_cpu[i] = min(best_cpu[i], (time.thread_time_ns() - c) / 1000)
            best_wall[i] = min(best_wall[i], (time.perf_counter_ns() - t) / 1000)
    for label, xs in (("wall", best_wall), ("thread CPU", best_cpu)):
        print(
            f"per party, {label}, best of {args.rounds} rounds ({len(xs)} distinct names, cold "
            f"cache): median {statistics.median(xs):.1f} us, p90 {pct(xs, 90):.1f} us, "
            f"p99 {pct(xs, 99):.1f} us, max {max(xs):.0f} us (targets: median < 100 us, "
            f"p99 < 1000 us)"
        )
    print(
        f"load average at the time: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs"
    )

    # -- events/s ------------------------------------------------------------------------------
    roles = ["consignor", "consignee", "notify_party", "carrier", "bank", "freight_forwarder"]
    vessels = [
        {"name": "BILLIONS NO. 18", "imo": "9191773"},
        {"name": "OCEAN GLORY"},
        {"name": "PACIFIC DAWN", "imo": "9074729"},
    ]

    def make_events(pool: list[str], n: int) -> list[Event]:
        out = []
        for i in range(n):
            out.append(
                Event.model_validate(
                    {
                        "event_id": f"b-{i}",
                        "event_type": "shipment",
                        "source": "bench",
                        "occurred_at": "2026-06-01T00:00:00+00:00",
                        "shipment": {
                            "origin": {"country": "CN"},
                            "destination": {"country": "SG"},
                            "vessel": rng.choice(vessels),
                            "parties": [{"role": r, "name": rng.choice(pool)} for r in roles],
                        },
                    }
                )
            )
        return out

    pool = synthetic_names(random.Random(7), 2000) + list_like[:200]
    for label, events in (
        ("pool of 2,200 counterparties", make_events(pool, args.events)),
        (
            "every name unique",
            make_events(synthetic_names(random.Random(8), args.events * 6), args.events),
        ),
    ):
        best_dt = best_dc = float("inf")
        for _ in range(args.rounds):
            cold()
            t0, c0 = time.perf_counter(), time.thread_time()
            hits = sum(len(screener.screen(e)) for e in events)
            best_dt = min(best_dt, time.perf_counter() - t0)
            best_dc = min(best_dc, time.thread_time() - c0)
        print(
            f"events/s, 6 parties + vessel each, {label}, best of {args.rounds}: "
            f"{len(events) / best_dt:,.0f} wall, {len(events) / best_dc:,.0f} per CPU-second "
            f"({len(events)} events, {hits} hits; target > 2,000/s)"
        )

    # -- precision / recall ------------------------------------------------------------------
    print("precision / recall over real list names (600 varied) and look-alikes:")
    for threshold in (0.84, 0.86, 0.88, 0.90, 0.92, 0.95):
        s = Screener.from_entries(
            parsed.entries,
            parsed.sha256,
            parsed.date_generated,
            settings=ScreeningSettings(SANCTIONS_SCREENING_THRESHOLD=threshold),
        )
        q, _ = evaluate(probes, lambda name, s=s: s.screen_name(name, when))
        mark = "  <- default" if threshold == ScreeningSettings().threshold else ""
        print(
            f"  threshold {threshold:.2f}: precision {q.precision:.3f}  recall {q.recall:.3f}  "
            f"(tp {q.tp}, fn {q.fn}, fp {q.fp}, tn {q.tn}){mark}"
        )

    independent_evaluation(parsed, args.vessels, args.seed, _halves(args.half), args.misses)


def _halves(choice: str) -> tuple[str, ...]:
    return ("development", "held-out", "all") if choice == "each" else (choice,)


def independent_evaluation(
    parsed, vessels_csv: Path, seed: int, halves: Sequence[str] = ("all",), misses: bool = False
) -> None:
    rows = load_vessel_rows(vessels_csv)
    cases = build_cases(parsed.entries, rows, seed=seed)
    settings = ScreeningSettings()
    s = Screener.from_entries(
        parsed.entries, parsed.sha256, parsed.date_generated, register_from_rows(rows), settings
    )
    when = datetime(2030, 1, 1, tzinfo=UTC)

    def screen(c):
        if c.kind == "vessel":
            return s.screen_vessel_name(c.query, when)
        return s.screen_name(c.query, when)

    split = split_halves(cases)
    for half in halves:
        subset = cases if half == "all" else split[half]
        report = score_cases(subset, screen)
        pos = sum(1 for c in subset if c.reference)
        print(
            f"independent evaluation set (seed {seed}), {half}: {len(subset)} queries, {pos} "
            f"positives, {len(subset) - pos} negatives; threshold {settings.threshold:.2f}"
        )
        print(f"  {'':34} precision  recall     F1   tp   fn   fp   tn")

        def row(label: str, c) -> None:
            if c.tp + c.fn == 0:  # look-alikes only: what share raised a (false) alert
                share = c.fp / (c.fp + c.tn)
                print(f"  {label:34} false alerts {c.fp}/{c.fp + c.tn} ({share:.3f})")
                return
            print(
                f"  {label:34} {c.precision:9.3f} {c.recall:7.3f} {c.f1:6.3f} {c.tp:4d} "
                f"{c.fn:4d} {c.fp:4d} {c.tn:4d}"
            )

        row("all", report.total)
        for kind, c in sorted(report.by_kind.items()):
            row(kind, c)
        for (kind, variant), c in sorted(report.by_variant.items()):
            row(f"{kind} / {variant}", c)
        if misses:
            for case, _refs in report.misses:
                found = screen(case)
                got = "; ".join(f"{h.reference} {h.score:.3f} {h.matched!r}" for h in found)
                print(
                    f"  MISS {case.kind}/{case.variant}: {case.query!r} want {case.reference}"
                    f" got {got}"
                )


if __name__ == "__main__":
    main()

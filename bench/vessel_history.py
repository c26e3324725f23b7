"""Time the vessel-history rules over a real (temporary SQLite) store.

    .venv/bin/python bench/vessel_history.py                       # 20,000 stored, 2,000 vessels
    .venv/bin/python bench/vessel_history.py --stored 100000 --vessels 10000 --events 2000

Stores --stored vessel_movement events (port calls, STS transfers, AIS gaps, flag changes) of
--vessels hulls over two years, with flagged decisions for a tenth of them, then evaluates
--events new port calls of those hulls with the history rules (rules/dprk/history + iran/history)
and prints events/s (evaluate_many in batches of --batch: the batch's vessels are read from the
vessel_sightings index in one query; and single evaluate() latency percentiles, one index
look-up each), the per-event look-ups and the load average before and after (the machine is
shared).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.models.events import Event  # noqa: E402

FLAGS = ["PA", "TG", "SL", "KM", "LR", "MH", "HK", "CN", "RU", "SG"]
START = datetime(2018, 1, 1, tzinfo=UTC)


def imo(n: int) -> str:
    base = f"{9000000 + n:07d}"[:6]
    return base + str(sum(int(d) * w for d, w in zip(base, range(7, 1, -1), strict=True)) % 10)


def vessel(i: int, rng: random.Random) -> dict:
    return {"name": f"VESSEL {i}", "imo": imo(i * 10), "mmsi": f"{352000000 + i}",
            "flag": rng.choice(FLAGS)}  # fmt: skip


def stored_event(n: int, hulls: int, rng: random.Random) -> dict:
    i = rng.randrange(hulls)
    v = vessel(i, rng)
    when = START + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
    kind = rng.choice(["port_call", "port_call", "ship_to_ship", "ais_gap", "flag_change"])
    body: dict = {"kind": kind, "vessel": v}
    if kind == "port_call":
        body["port"] = {"country": rng.choice(["CN", "RU", "SG", "VN"])}
    elif kind == "ship_to_ship":
        body["counterpart_vessel"] = {"name": "OTHER", "flag": rng.choice(["KP", "CN", "PA"])}
        body["cargo_operation"] = "load"
    elif kind == "ais_gap":
        body["position"] = {"lat": rng.uniform(30, 43), "lon": rng.uniform(120, 132)}
    else:
        body["previous"] = {"flag": rng.choice(FLAGS)}
    return {"event_id": f"b-{n}", "event_type": "vessel_movement", "source": "bench",
            "occurred_at": when.isoformat(), "vessel_movement": body}  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stored", type=int, default=20000)
    ap.add_argument("--vessels", type=int, default=2000)
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    os.environ["SANCTIONS_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-vh-")
    os.environ.pop("DATABASE_URL", None)
    from engine.config import reset_settings
    from engine.models.decisions import Decision, Violation
    from engine.rules.evaluator import Evaluator
    from engine.rules.loader import pack_from_files, read_files
    from engine.storage.db import migrate, reset_engine
    from engine.storage.repository import save_decisions, sha256_of, store_events
    from engine.vessels.history import StoredHistory, VesselHistory

    reset_settings()
    reset_engine()
    migrate()
    rng = random.Random(13)
    rows, decisions, occurred = [], [], {}
    for n in range(args.stored):
        raw = stored_event(n, args.vessels, rng)
        e = Event.model_validate(raw)
        rows.append((raw, e, sha256_of(raw)))
        if n % 10 == 0:
            decisions.append(Decision(
                event_id=e.event_id, status="flagged", engine_version="bench",
                evaluated_at=datetime(2019, 1, 1, tzinfo=UTC),
                violations=[Violation(rule_id="UNSCR-2375-OP11", regime="DPRK", title="STS",
                                      severity="critical", citations=[], reason="bench")],
            ))  # fmt: skip
            occurred[e.event_id] = e.occurred_at
    t0 = time.perf_counter()
    for i in range(0, len(rows), 5000):
        store_events(rows[i : i + 5000])
    save_decisions(decisions, occurred)
    print(
        f"stored {args.stored} events of {args.vessels} vessels in {time.perf_counter() - t0:.1f} s"
    )

    files = read_files(ROOT / "rules")
    pack = pack_from_files(
        {
            p: t
            for p, t in files.items()
            if p.startswith(("dprk/history/", "iran/history/", "vessels/"))
        }
    )
    queries = [0]

    class Counting(StoredHistory):
        def sightings_naming(self, ids, start, end, as_of):
            queries[0] += 1
            return super().sightings_naming(ids, start, end, as_of)

        def sightings_many(self, requests, as_of):
            queries[0] += 1
            return super().sightings_many(requests, as_of)

    ev = Evaluator(pack, history=VesselHistory(Counting()))
    calls = []
    for n in range(args.events):
        v = vessel(rng.randrange(args.vessels), rng)
        calls.append(Event.model_validate({
            "event_id": f"call-{n}", "event_type": "vessel_movement", "source": "bench",
            "occurred_at": (START + timedelta(days=730 + rng.randrange(60))).isoformat(),
            "vessel_movement": {"kind": "port_call", "vessel": v, "port": {"country": "CN"}},
        }))  # fmt: skip
    ev.evaluate(calls[0])  # warm
    t0, c0 = time.perf_counter(), time.process_time()
    flagged = 0
    for i in range(0, len(calls), args.batch):
        flagged += sum(d.status == "flagged" for d in ev.evaluate_many(calls[i : i + args.batch]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    lat = []
    for e in calls[: min(300, len(calls))]:
        single = e.model_copy(update={"event_id": e.event_id + "-single"})
        t = time.perf_counter()
        ev.evaluate(single)
        lat.append((time.perf_counter() - t) * 1000)
    load = os.getloadavg()
    print(
        f"history rules: {len(pack.rules)}; port calls evaluated: {len(calls)} ({flagged} flagged)"
    )
    print(
        f"evaluate_many: {len(calls) / wall:,.0f} events/s wall, {len(calls) / cpu:,.0f} events/s CPU"
    )
    print(
        f"single evaluate latency ms: p50 {statistics.median(lat):.2f}  p95 {pct(lat, 95):.2f}  "
        f"p99 {pct(lat, 99):.2f}"
    )
    print(f"store reads: {queries[0] / (len(calls) + len(lat) + 1):.2f} per event (batch + single)")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

"""Time the evaluator alone (no DB, no broker) on generated events.

    .venv/bin/python bench/evaluator.py                    # the first pack (rules/dprk/arms)
    .venv/bin/python bench/evaluator.py --pack all         # every rule file in rules/
    .venv/bin/python bench/evaluator.py --events 50000 --batch 1000
    .venv/bin/python bench/evaluator.py --pack all --screening   # + Screener over the real UN list
    .venv/bin/python bench/evaluator.py --pack all --caps        # + caps ledger over a temp SQLite DB

Prints events/s of evaluate_many (batched; wall clock and this process's CPU time) and per-event
latency percentiles of single evaluate() calls, with the load average (the machine is shared).

--screening: every shipment gets six parties (names drawn from a pool of 2,000 synthetic trading
names plus 60 names of the list's own entries, so some events hit) and the evaluator gets a
Screener over the 2026-05-08 UN consolidated list (in memory, Screener.from_entries, as
bench/screening.py builds it) and the designated-vessel register.
--caps: a migrated temporary SQLite database holds --stored petroleum / coal supplies to KP (and
the caps ledger reads them through StoredEvents, i.e. real SQL); prints the ledger's query count.
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

from engine.models.events import Event  # noqa: E402
from engine.rules.evaluator import Evaluator  # noqa: E402
from engine.rules.loader import pack_from_files, read_files  # noqa: E402

COUNTRIES = [
    "CN",
    "RU",
    "DE",
    "US",
    "JP",
    "KR",
    "SG",
    "NL",
    "AE",
    "TR",
    "IN",
    "BR",
    "KP",
    "IR",
    "SY",
    "LY",
]
HS = [
    "847130",
    "300490",
    "100630",
    "870323",
    "930690",
    "9306",
    "271019",
    "270112",
    "610910",
    "8471",
    "940360",
    "854231",
]


ROLES = ["consignor", "consignee", "notify_party", "carrier", "bank", "freight_forwarder"]
DEFAULT_LIST = ROOT.parent / "shared" / "data" / "un-consolidated" / "consolidated-2026-05-08.xml"


def make_event(i: int, rng: random.Random, names: list[str] | None = None) -> Event:
    """A generated event; with ``names``, a shipment has six parties named from that pool."""
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
    lines = [
        {
            "hs_code": rng.choice(HS),
            "description": "goods",
            "quantity": rng.randint(1, 1000),
            "unit": "kg",
        }
        for _ in range(rng.randint(1, 3))
    ]
    return Event.model_validate({
        "event_id": f"bench-{i}", "event_type": "shipment", "occurred_at": occurred.isoformat(), "source": "bench",
        "shipment": {
            "origin": {"country": rng.choice(COUNTRIES)}, "destination": {"country": rng.choice(COUNTRIES)},
            "route": [{"country": rng.choice(COUNTRIES)}] if rng.random() < 0.3 else [],
            "goods": lines,
            "parties": [{"role": "consignee", "name": "ACME", "country": rng.choice(COUNTRIES)}] if names is None else
                       [{"role": r, "name": rng.choice(names), "country": rng.choice(COUNTRIES)} for r in ROLES],
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

    rules = {
        f"r{i}": {
            "all": [{"m": {"$and": [{"kind": "goods"}, {"from__KP": True}, {"hs2": str(93 - i)}]}}],
            "run": lambda c: None,
        }
        for i in range(5)
    }
    host = QuietHost({"baseline": rules})
    rs = host.get_ruleset("baseline")
    rng = random.Random(1)
    docs = []
    for i in range(n):
        f = {
            "id": str(i + 1),
            "kind": "goods",
            "occurred": i,
            "hs2": str(rng.randint(89, 99)),
            "hs4": "9306",
        }
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


def make_screener() -> tuple[object, list[str]]:
    """(Screener over the real UN list + vessel register, pool of party names incl. listed ones)."""
    from screening import synthetic_names  # bench/ is on sys.path (the script's own folder)

    from engine.lists.parser import parse_list
    from engine.screening.service import Screener
    from engine.screening.vessels import load_register

    parsed = parse_list(DEFAULT_LIST.read_bytes())
    register = load_register(ROOT / "rules" / "vessels" / "designated-vessels.yaml")
    screener = Screener.from_entries(parsed.entries, parsed.sha256, parsed.date_generated, register)
    listed = [e.name for e in random.Random(3).sample(list(parsed.entries), 60)]
    return screener, sorted(
        synthetic_names(random.Random(7), 2000)
    ) + listed  # sorted: set order varies per process


def petroleum_supply(i: int, rng: random.Random) -> Event:
    year = rng.choice([2017, 2018, 2019, 2020, 2021])
    hs, unit, qty = rng.choice(
        [
            ("271019", "bbl", rng.randint(100, 5000)),
            ("271019", "t", rng.randint(10, 800)),
            ("270900", "t", rng.randint(10, 800)),
            ("270112", "t", rng.randint(100, 9000)),
        ]
    )
    return Event.model_validate({
        "event_id": f"stored-{i}", "event_type": "shipment", "source": "bench",
        "occurred_at": datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 365 * 86400)),
        "shipment": {"origin": {"country": "KP" if hs == "270112" else "CN"}, "destination": {"country": "CN" if hs == "270112" else "KP"},
                     "goods": [{"hs_code": hs, "description": "diesel" if hs != "270112" else "coal", "quantity": qty, "unit": unit}],
                     "notification_ref": "N-1"},
    })  # fmt: skip


def make_caps(pack: object, stored: int) -> tuple[object, list[int]]:
    """A caps ledger over a migrated temporary SQLite DB holding ``stored`` supplies; and a
    one-item list counting the ledger's event-store queries."""
    import os
    import tempfile

    os.environ["SANCTIONS_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-caps-")
    os.environ.pop("DATABASE_URL", None)
    from engine.config import reset_settings
    from engine.rules.caps import CapsLedger, StoredEvents
    from engine.storage.db import migrate, reset_engine
    from engine.storage.repository import sha256_of, store_events

    reset_settings()
    reset_engine()
    migrate()
    rng = random.Random(11)
    rows = []
    for i in range(stored):
        e = petroleum_supply(i, rng)
        raw = e.model_dump(mode="json")
        rows.append((raw, e, sha256_of(raw)))
    store_events(rows)
    queries = [0]

    class CountingEvents(StoredEvents):
        def events_between(self, start, end, as_of):
            queries[0] += 1
            return super().events_between(start, end, as_of)

    return CapsLedger(pack.rules, CountingEvents()), queries  # type: ignore[attr-defined]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--pack", default="dprk/arms", help="path prefix of rule files to load, or 'all'"
    )
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--latency-samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--screening",
        action="store_true",
        help="screen six parties per shipment against the real UN list",
    )
    ap.add_argument(
        "--caps",
        action="store_true",
        help="caps ledger over a temporary SQLite DB of stored supplies",
    )
    ap.add_argument("--stored", type=int, default=2000, help="stored supplies for --caps")
    args = ap.parse_args()

    files = read_files(ROOT / "rules")
    if args.pack != "all":
        files = {p: t for p, t in files.items() if p.startswith(args.pack)}
    pack = pack_from_files(files)
    screener, names, caps, queries = None, None, None, [0]
    if args.screening:
        screener, names = make_screener()
    if args.caps:
        caps, queries = make_caps(pack, args.stored)
    ev = Evaluator(pack, screener=screener, caps=caps)  # type: ignore[arg-type]
    rng = random.Random(args.seed)
    events = [make_event(i, rng, names) for i in range(args.events)]
    ev.evaluate_many(events[:200])  # warm up
    # The pre-generated event pool is bench scaffolding (a worker holds ~100 events at a time):
    # move it out of the collector's way so GC passes over it are not charged to the evaluator.
    gc.collect()
    gc.freeze()
    queries[0] = 0

    t0, c0 = time.perf_counter(), time.process_time()
    flagged = 0
    for start in range(0, len(events), args.batch):
        for d in ev.evaluate_many(events[start : start + args.batch]):
            flagged += d.status == "flagged"
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    batch_queries = queries[0]

    lat = []
    for e in events[: args.latency_samples]:
        t = time.perf_counter()
        ev.evaluate(e)
        lat.append((time.perf_counter() - t) * 1000)
    baseline = raw_durable_baseline(len(events))

    mode = " + screening (6 parties/shipment, real UN list)" if args.screening else ""
    mode += f" + caps ledger ({args.stored} stored supplies, SQLite)" if args.caps else ""
    print(
        f"pack {pack.version[:12]}: {len(pack.rules)} rules, {len(ev.compiled.definitions)} durable rules ({args.pack}){mode}"
    )
    print(
        f"evaluate_many: {len(events)} events, {flagged} flagged ({flagged / len(events):.1%}), batch {args.batch}: "
        f"{len(events) / elapsed:,.0f} events/s wall, {len(events) / cpu:,.0f} events/s of process CPU"
    )
    print(
        f"evaluate (single event) latency ms: p50 {pct(lat, 50):.3f}  p95 {pct(lat, 95):.3f}  "
        f"p99 {pct(lat, 99):.3f}  mean {statistics.fmean(lat):.3f}"
    )
    if args.caps:
        print(
            f"caps ledger: {batch_queries} event-store queries in evaluate_many ({batch_queries / len(events):.3f} per event)"
        )
    print(
        f"raw durable_rules baseline on this machine now: {baseline:,.0f} events/s of process CPU"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())} (2 cores)")


if __name__ == "__main__":
    main()

"""The journal's sequencer on its own: CPU per journal entry over a store of decided events.

    .venv/bin/python bench/journal.py                  # 10,000 events (SQLite scratch DB)
    .venv/bin/python bench/journal.py --pass-size 2600 # passes as small as a busy worker's
    .venv/bin/python bench/journal.py --profile        # and the cProfile top 25
    .venv/bin/python bench/journal.py --repeat 7       # the same rows 7 times: the median run
    DATABASE_URL=postgresql://... .venv/bin/python bench/journal.py   # a scratch schema

Stores N generated shipments and decides them with the live path (ingest_batch + decide_stored,
as bench/replay.py does: events, decisions, alerts, cases...), then sequences them in passes of
--pass-size rows and prints CPU microseconds per entry (time.process_time: on SQLite the
database's work is in this process too; on PostgreSQL the server's is not), entries per event,
and the CPU of a pass with nothing to do. bench/throughput.py --journal-compare gives the cost
on the end-to-end rate. Quote figures with ``uptime``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--events", type=int, default=10_000)
    ap.add_argument("--pass-size", type=int, default=20_000, help="rows per sequencer pass")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="sequence the same rows N times")
    args = ap.parse_args()
    os.environ.setdefault("SANCTIONS_DATA_DIR", tempfile.mkdtemp(prefix="bench-journal-"))
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["SANCTIONS_DB_SCHEMA"] = f"bench_{uuid.uuid4().hex[:10]}"
    from replay_support import generated_events, ingest_and_decide

    from engine.audit.records import sources
    from engine.audit.sequencer import sequence_pass
    from engine.storage.db import migrate

    migrate()
    t0 = time.perf_counter()
    ingest_and_decide(generated_events(args.events))
    print(f"stored and decided {args.events:,} events in {time.perf_counter() - t0:.1f} s")
    sources()  # the journaled tables' modules imported before the clock starts
    from engine.gc_tuning import set_long_lived_thresholds

    set_long_lived_thresholds()  # as in a worker's main process, where the sequencer runs
    profile = cProfile.Profile() if args.profile else None
    runs: list[tuple[float, float, int]] = []
    for run in range(args.repeat):
        if run:  # the same rows again: the journal emptied, the process's marks forgotten
            from sqlalchemy import text

            from engine.audit import sequencer
            from engine.storage.db import get_engine

            with get_engine().begin() as conn:
                conn.execute(text("DELETE FROM journal_entries"))
                conn.execute(text("DELETE FROM journal_passes"))
            # SQLite: without VACUUM the next run writes into the freed pages, scattered, not
            # appended as a journal that only grows is (the effect was lost in this box's noise)
            if get_engine().dialect.name == "sqlite":
                with get_engine().connect() as conn:
                    conn.exec_driver_sql("VACUUM")
            sequencer._state = sequencer._tree = None
        gc.collect()  # the last run's garbage is not this run's cost
        entries = 0
        c0, w0 = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        while n := sequence_pass(args.pass_size):
            entries += n
        if profile:
            profile.disable()
        runs.append((time.process_time() - c0, time.perf_counter() - w0, entries))
    cpu, wall, entries = sorted(runs)[len(runs) // 2]  # the median run by CPU
    if args.repeat > 1:
        print(
            "us CPU per entry by run: "
            + ", ".join(f"{c / e * 1e6:.1f}" for c, _w, e in runs)
            + " (the median run below)"
        )
    c0 = time.process_time()
    for _ in range(10):
        sequence_pass(args.pass_size)
    idle = (time.process_time() - c0) / 10
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(
        f"sequenced {entries:,} entries ({entries / args.events:.2f} per event) in passes of "
        f"{args.pass_size:,}: {cpu / entries * 1e6:.1f} us CPU per entry "
        f"({cpu / args.events * 1000:.3f} ms per event), wall {wall:.1f} s; "
        f"a pass with nothing to do {idle * 1000:.1f} ms CPU; {uptime}"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    schema = os.environ.get("SANCTIONS_DB_SCHEMA")
    if schema:  # the scratch schema goes (SQLite's scratch file is in a temp dir)
        from sqlalchemy import text

        from engine.storage.db import get_engine

        with get_engine().begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    sys.exit(main())

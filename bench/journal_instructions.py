"""The sequencer's cost in instructions per journal entry (valgrind's callgrind), SQLite.

    .venv/bin/python bench/journal_instructions.py                 # stores of 1,000 and 3,000 events
    .venv/bin/python bench/journal_instructions.py --stores /tmp/j # kept there, reused next time

CPU time on a shared two-core machine varies by 20-40% from run to run (bench/journal.py's
repeats), too much to see a few percent. Instructions do not: callgrind counts the same total
for the same binary and inputs whatever else the machine does. This stores and decides N and
3N generated events (nothing journaled), then counts a fresh interpreter sequencing each store
(a copy: the stores are not changed). The difference of the two counts over the difference of
their entries is what one more entry costs, SQLite's insert and commit included; start-up, the
statements' first compilation and each pass's fixed queries cancel out. Compare trees by
running each tree's copy of this script on the same ``--stores`` (an older tree's store is
brought up to date by its migrations, outside the difference too). About 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(data_dir: str) -> dict[str, str]:
    """A child's environment: the default SQLite database in ``data_dir`` (never a configured
    PostgreSQL or Redis: this counts SQLite's work in the process)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["SANCTIONS_DATA_DIR"] = data_dir
    return env


def _child() -> None:
    from sqlalchemy import text

    from engine.audit.records import sources
    from engine.audit.sequencer import sequence_all
    from engine.gc_tuning import set_long_lived_thresholds
    from engine.storage.db import get_engine, migrate

    migrate()
    sources()
    set_long_lived_thresholds()
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    print(f"entries={sequence_all()}")


def _prepare(n: int) -> None:
    """Stores and decides ``n`` events in $SANCTIONS_DATA_DIR/sanctions.db, nothing journaled
    (the pipeline never sequences: the worker's sweeper does)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from replay_support import generated_events, ingest_and_decide

    from engine.storage.db import get_engine, migrate, reset_engine

    migrate()
    ingest_and_decide(generated_events(n))
    with get_engine().connect() as conn:  # the whole store in the file that is copied
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    reset_engine()


def _count(store: Path) -> tuple[int, int]:
    """(instructions, entries) of one fresh interpreter over a copy of ``store``."""
    with tempfile.TemporaryDirectory(prefix="bench-journal-ir-") as tmp:
        shutil.copy(store, Path(tmp) / "sanctions.db")
        env = _env(tmp)
        env["PYTHONHASHSEED"] = "0"
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--child",
                "sequence",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    ir = re.search(r"Collected : (\d+)", out.stderr)
    entries = re.search(r"entries=(\d+)", out.stdout)
    if not ir or not entries:
        raise SystemExit(f"callgrind gave no count:\n{out.stderr[-2000:]}")
    return int(ir.group(1)), int(entries.group(1))


def _store(n: int, into: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-journal-store-") as tmp:
        cmd = [sys.executable, __file__, "--child", "prepare", "-n", str(n)]
        subprocess.run(cmd, env=_env(tmp), check=True)
        shutil.copy(Path(tmp) / "sanctions.db", into)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", "--events", type=int, default=1_000, help="the smaller store")
    ap.add_argument("--stores", type=Path, help="a folder for the two stores: kept, and reused")
    ap.add_argument("--child", choices=["prepare", "sequence"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))  # this tree's engine, whichever tree runs the script
    if args.child == "prepare":
        _prepare(args.events)
        return 0
    if args.child:
        _child()
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-journal-stores-") as tmp:
        folder = args.stores or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        counts = []
        for n in (args.events, 3 * args.events):
            store = folder / f"store-{n}.db"
            if not store.exists():
                _store(n, store)
            counts.append(_count(store))
    (ir1, e1), (ir3, e3) = counts
    per = (ir3 - ir1) / (e3 - e1)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(
        f"{per:,.0f} instructions per journal entry: {e1:,} entries {ir1:,}, "
        f"{e3:,} entries {ir3:,}; {uptime}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

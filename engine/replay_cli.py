"""``sanctions rules replay --from --to``: a period replay in this process, with a progress bar."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table


def parse_day(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def candidate_pack(against: str | None) -> Any:
    from engine.replay import load_stored_pack
    from engine.rules.loader import load_pack

    if against is None:
        return None
    if against == "current":
        return load_pack()
    if re.fullmatch(r"[0-9a-f]{64}", against):
        return load_stored_pack(against)
    return load_pack(Path(against))


def run_period(
    since: str,
    until: str,
    regime: str | None = None,
    against: str | None = None,
    lists: str | None = None,
    progress: Any = None,
    jobs: int | None = None,
) -> Any:
    """``jobs``: worker processes (None: the CPU count; 1: this process only)."""
    from engine.replay_parallel import replay_period_jobs

    return replay_period_jobs(
        parse_day(since),
        parse_day(until),
        regime=regime,
        against=against,
        lists=lists,
        jobs=jobs,
        progress=progress,
    )


def print_report(console: Console, report: Any) -> None:
    console.print(
        f"{report.mode} replay {report.since} .. {report.until}"
        + (f" regime {report.regime}" if report.regime else "")
        + f": {report.replayed} replayed, {report.identical} identical, {report.skipped} skipped"
    )
    for e in report.errors[:20]:
        console.print(f"[red]error[/] {e}", markup=True)
    if report.mode == "pinned":
        if report.defects:
            console.print(f"[red]{len(report.defects)} DEFECT(S)[/]: decisions that differ")
            for d in report.defects[:20]:
                console.print(f"  {d.event_id}", markup=False)
                console.print(
                    f"    original: {json.dumps(d.original, sort_keys=True)}", markup=False
                )
                console.print(
                    f"    replayed: {json.dumps(d.replayed, sort_keys=True)}", markup=False
                )
                for line in d.diff:
                    console.print(f"    {line}", markup=False)
        else:
            console.print("[green]every decision identical[/]")
        return
    table = Table(title="impact per measure", title_justify="left")
    for col in ("measure", "new", "vanished", "changed"):
        table.add_column(col)
    for rid, c in sorted(report.measures.items()):
        table.add_row(rid, str(c["new"]), str(c["vanished"]), str(c["changed"]))
    console.print(table)
    for rid, rows in sorted(report.samples.items()):
        console.print(f"sample {rid}:")
        for r in rows[:5]:
            console.print(f"  {r['change']} {r['event_id']}: {r['detail']}", markup=False)


def period_command(
    since: str,
    until: str,
    regime: str | None,
    against: str | None,
    lists: str | None,
    csv_path: Path | None,
    json_path: Path | None,
    jobs: int | None = None,
) -> int:
    console = Console(stderr=False)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("replaying", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = run_period(since, until, regime, against, lists, progress=tick, jobs=jobs)
    print_report(console, report)
    if csv_path is not None:
        csv_path.write_text(report.csv())
        console.print(f"CSV: {csv_path}")
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_json(), indent=1, default=str))
    if report.mode == "pinned" and not report.ok:
        return 1
    return 0

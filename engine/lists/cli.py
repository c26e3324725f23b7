"""`sanctions lists ...`: import UN list snapshots, show them and their differences."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table


@click.group("lists")
def lists_cli() -> None:
    """UN Security Council Consolidated List snapshots."""


@lists_cli.command("import")
@click.argument("source", required=False)
@click.option(
    "--no-retro", is_flag=True, help="Do not re-screen recent events against new entries."
)
@click.option(
    "--every",
    default=None,
    metavar="DURATION",
    help="Keep importing on this schedule (e.g. 6h, 30m, 3600s); failures keep the last snapshot.",
)
def import_cmd(source: str | None, no_retro: bool, every: str | None) -> None:
    """Import SOURCE (a local file or an http(s) URL; default: Settings.un_list_url)."""
    from engine.config import get_settings

    source = source or get_settings().un_list_url
    if every:
        _import_every(source, _seconds(every), retro=not no_retro)
        return
    _import_once(source, no_retro)


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError) as exc:
        raise click.BadParameter(f"not a duration: {text!r} (e.g. 6h, 30m, 3600)") from exc
    if value <= 0:
        raise click.BadParameter("the interval must be positive")
    return value


def _import_every(source: str, seconds: float, retro: bool) -> None:
    import time

    from engine.lists.importer import import_list
    from engine.lists.schedule import record_import

    while True:
        run, _ = record_import(source, "schedule", lambda: import_list(source, retro=retro))
        outcome = (
            ("new snapshot " + (run.snapshot_sha256 or "")[:12]) if run.created else "unchanged"
        )
        click.echo(
            f"{run.started_at:%Y-%m-%d %H:%M:%S} import of {source}: "
            + (outcome if run.ok else f"failed ({run.error}); last good snapshot kept")
        )
        time.sleep(seconds)


def _import_once(source: str, no_retro: bool) -> None:
    from engine.lists.importer import import_list
    from engine.lists.parser import ListFormatError
    from engine.lists.schedule import record_import

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(f"read {source}", total=None)

        def progress(done: int, total: int | None, stage: str) -> None:
            if stage in ("read", "download"):
                bar.update(task, completed=done, total=total)
            else:
                bar.update(task, description=stage)

        try:
            _, result = record_import(
                source, "cli", lambda: import_list(source, progress=progress, retro=not no_retro)
            )
        except (OSError, ListFormatError) as exc:
            raise click.ClickException(f"cannot import {source}: {exc}") from exc
        except Exception as exc:  # httpx errors and the like: one readable line
            if type(exc).__module__.startswith("httpx"):
                raise click.ClickException(f"cannot download {source}: {exc}") from exc
            raise
        bar.update(task, description="done")
    snap = result.snapshot
    if not result.created:
        click.echo(f"already imported: snapshot {snap.id} {snap.label}; nothing changed")
        return
    click.echo(
        f"imported snapshot {snap.id}: dateGenerated {snap.date_generated.isoformat()}, "
        f"{snap.individuals} individuals, {snap.entities} entities, sha256 {snap.sha256}"
    )
    if result.previous and result.report:
        s = result.report.summary()
        click.echo(
            f"against {result.previous.label}: {s['added']} added, {s['removed']} removed, "
            f"{s['amended']} amended"
        )
        click.echo(f"re-screening opened {result.retro_alerts} alert(s)")
        if result.delisting_marks:
            click.echo(
                f"{result.delisting_marks} open alert(s) marked: an entry they cite was delisted"
            )
    else:
        click.echo("first snapshot: no change report")


@lists_cli.command("snapshots")
def snapshots_cmd() -> None:
    """List the stored snapshots, oldest first."""
    from engine.lists import store

    table = Table("id", "dateGenerated", "individuals", "entities", "sha256", "source")
    for s in store.snapshots():
        table.add_row(
            str(s.id),
            s.date_generated.isoformat(),
            str(s.individuals),
            str(s.entities),
            s.sha256[:16],
            s.source,
        )
    Console().print(table)


@lists_cli.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--amended/--no-amended", default=True, help="List amended entries too.")
def diff_cmd(a: str, b: str, amended: bool) -> None:
    """Changes from snapshot A to snapshot B (each: id, sha256 prefix, or YYYY-MM-DD)."""
    from engine.lists import store

    try:
        sa, sb = store.resolve(a), store.resolve(b)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    report = store.diff(sa, sb)
    s = report.summary()
    click.echo(
        f"{sa.label} -> {sb.label}: {s['added']} added, {s['removed']} removed, "
        f"{s['amended']} amended"
    )
    for regime, counts in report.by_regime().items():
        click.echo(f"  {regime:<12} +{counts['added']} -{counts['removed']} ~{counts['amended']}")
    for sign, refs in (("+", report.added), ("-", report.removed)):
        for r in refs:
            click.echo(f"{sign} {r.reference:<10} {r.regime:<10} {r.name}  [DATAID {r.dataid}]")
    if amended:
        for am in report.amended:
            click.echo(
                f"~ {am.entry.reference:<10} {am.entry.regime:<10} {am.entry.name}  "
                f"[{', '.join(am.fields)}]"
            )

"""`sanctions rules check | replay EVENT_ID | impact --against PATH|VERSION`."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _console() -> Console:
    return Console(width=160, soft_wrap=False)


@click.group("rules")
def rules_cli() -> None:
    """Rule pack: validate, replay decisions, measure the impact of a change."""


@rules_cli.command("check")
@click.option(
    "--dir",
    "rules_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="rules directory (default: Settings.rules_dir)",
)
@click.option(
    "--examples/--no-examples", default=True, help="also run every example through both evaluators"
)
def check_command(rules_dir: Path | None, examples: bool) -> None:
    """Validate every rule file (schema, citation, dates, HS codes, examples) and run its examples."""
    from engine.config import get_settings
    from engine.rules.loader import (
        REGISTER_PATH,
        VESSELS_PATH,
        RuleFileError,
        pack_from_files,
        parse_register,
        parse_rule,
        parse_vessels,
        read_files,
    )

    root = rules_dir or get_settings().rules_dir
    files = read_files(root)
    console = _console()
    rows: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    errors = 0
    rules = []
    for path in sorted(files):
        if path == VESSELS_PATH:
            try:
                vessels = parse_vessels(files[path], path)
                console.print(f"[green]OK[/] {path}: {len(vessels.vessels)} designated vessels")
            except RuleFileError as exc:
                errors += 1
                console.print(f"[red]ERROR[/] {path}: {escape(exc.message)}")
            continue
        if path == REGISTER_PATH:
            try:
                reg = parse_register(files[path])
                console.print(f"[green]OK[/] {path}: {len(reg)} register entries")
            except RuleFileError as exc:
                errors += 1
                console.print(f"[red]ERROR[/] {path}: {exc.message}")
            continue
        try:
            rule = parse_rule(path, files[path])
        except RuleFileError as exc:
            errors += 1
            regime = path.split("/", 1)[0]
            rows[regime].append((path, "", "", "", "", "", f"[red]{exc.message}[/]"))
            continue
        rules.append((path, rule))
    register_file = Path(root) / REGISTER_PATH
    if register_file.is_file():  # the registers' import format (the evaluator reads the store)
        from engine.registers.importing import ImportFormatError, read_file

        try:
            entries = read_file(register_file)
            demo = sum(e.demo for e in entries)
            console.print(
                f"[green]OK[/] {REGISTER_PATH}: {len(entries)} register entries to import "
                f"({demo} demo); `sanctions exemptions import` records them in the store"
            )
        except ImportFormatError as exc:
            errors += 1
            console.print(f"[red]ERROR[/] {escape(str(exc))}")
    outcomes: dict[str, list[str]] = {}
    if examples and rules and not errors:
        from engine.rules.examples import ExampleRunner

        try:
            pack = pack_from_files(files)
        except ValueError as exc:
            console.print(f"[red]ERROR[/] {exc}")
            sys.exit(1)
        runner = ExampleRunner(pack)
        for _path, rule in rules:
            outcomes[rule.id] = [p for o in runner.run_rule(rule) if (p := o.problem())]
        runner.close()
    for _path, rule in rules:
        window = f"{rule.effective_from} → {rule.effective_to or '…'}" + (
            f" ({len(rule.suspended)} suspended)" if rule.suspended else ""
        )
        problems = outcomes.get(rule.id, [])
        errors += bool(problems)
        status = (
            "[red]" + "; ".join(problems) + "[/]"
            if problems
            else ("[green]OK[/]" if rule.id in outcomes else "[green]valid[/]")
        )
        rows[rule.regime].append(
            (rule.id, str(rule.citation), window, rule.severity, rule.confidence,
             f"{len(rule.examples.fire)}/{len(rule.examples.clear)}", status)
        )  # fmt: skip
    for regime in sorted(rows):
        table = Table(title=f"{regime}: {len(rows[regime])} rule files", title_justify="left")
        for col in (
            "rule",
            "citation",
            "in force",
            "severity",
            "confidence",
            "examples fire/clear",
            "status",
        ):
            table.add_column(col, overflow="fold")
        for row in sorted(rows[regime]):
            table.add_row(*row)
        console.print(table)
    total = sum(len(r) for r in rows.values())
    if errors:
        console.print(f"[red]{errors} problem(s)[/] in {total} rule files")
        sys.exit(1)
    console.print(f"[green]{total} rule files OK[/]")


@rules_cli.command("replay")
@click.argument("event_id", required=False)
@click.option("--from", "since", default=None, help="Period start (date, events occurred from).")
@click.option("--to", "until", default=None, help="Period end (date, exclusive).")
@click.option("--regime", default=None, help="Compare only the measures of this regime.")
@click.option(
    "--against", default=None, help="Candidate pack: a rules dir, a stored version, or current."
)
@click.option("--lists", default=None, help="Candidate list snapshot version, or current.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None)
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for a period (default: the CPU count; 1: this process).",
)
def replay_command(
    event_id: str | None,
    since: str | None,
    until: str | None,
    regime: str | None,
    against: str | None,
    lists: str | None,
    csv_path: Path | None,
    json_path: Path | None,
    jobs: int | None,
) -> None:
    """Re-run a stored event's decision against the exact rule pack of its day, or (--from, --to)
    every decision of a period: against its pinned versions (defects), or against a candidate
    pack / list snapshot (impact per measure)."""
    if event_id is None:
        from engine.replay_cli import period_command

        if not (since and until):
            raise click.UsageError("give EVENT_ID, or --from and --to")
        sys.exit(period_command(since, until, regime, against, lists, csv_path, json_path, jobs))
    from engine.replay import replay
    from engine.rules.caps import default_caps
    from engine.screening import default_screener

    console = _console()
    screener = default_screener()
    caps = default_caps()
    try:
        from engine.vessels.history import default_history

        result = replay(event_id, screener=screener, caps=caps, history=default_history())
    except (LookupError, ValueError) as exc:
        console.print(f"[red]{exc}[/]")
        sys.exit(2)
    o, r = result.original, result.replayed
    console.print(f"event {event_id}: rule pack {o.rule_pack_version}")
    console.print(
        f"original: {o.status} {[v.rule_id for v in o.violations]} (engine {o.engine_version}, {o.evaluated_at:%Y-%m-%d %H:%M}Z)"
    )
    console.print(
        f"replayed: {r.status} {[v.rule_id for v in r.violations]} (engine {r.engine_version})"
    )
    if result.identical:
        console.print("[green]identical[/]")
    else:
        for line in result.diff:
            console.print(f"  {line}", markup=False)
        sys.exit(1)


@rules_cli.command("impact")
@click.option(
    "--against",
    "against",
    required=True,
    help="baseline: a rules directory, or a stored pack version (sha256)",
)
@click.option(
    "--dir",
    "rules_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="candidate rules directory (default: Settings.rules_dir)",
)
@click.option(
    "--limit", type=int, default=10000, show_default=True, help="newest stored events to evaluate"
)
def impact_command(against: str, rules_dir: Path | None, limit: int) -> None:
    """Which stored events would get a different decision under the candidate pack."""
    from engine.replay import impact, load_stored_pack, stored_events
    from engine.rules.loader import load_pack

    console = _console()
    if re.fullmatch(r"[0-9a-f]{64}", against):
        old = load_stored_pack(against)
    else:
        old = load_pack(Path(against))
    new = load_pack(rules_dir)
    report = impact(old, new, stored_events(limit))
    console.print(
        f"baseline {report.old_version[:12]} → candidate {report.new_version[:12]}: {report.evaluated} events"
    )
    console.print(
        f"rules added {report.rules_added or '-'}; removed {report.rules_removed or '-'}; modified {report.rules_modified or '-'}"
    )
    table = Table(title=f"{len(report.changed)} decision(s) would change", title_justify="left")
    for col in ("event", "before", "after", "kind", "change"):
        table.add_column(col, overflow="fold")
    for item in sorted(report.changed, key=lambda i: (not i.outcome_changed, i.event_id)):
        kind = "outcome" if item.outcome_changed else "detail"
        table.add_row(
            item.event_id, item.before.status, item.after.status, kind, "\n".join(item.diff)
        )
    console.print(table)

"""``sanctions ais ...``: bulk ingest of raw AIS files, the AIS worker, sweep, synthetic tracks."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click


def _is_start(line: str) -> bool:
    """A line that begins a message (not a 2nd..nth fragment): a safe place to split a file."""
    bang = line.find("!")
    if bang < 0:
        return True
    fields = line[bang:].split(",", 3)
    return len(fields) < 3 or fields[2] == "1"


def chunks(path: Path, size: int) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of at most ~``size`` lines, never splitting a message. A JSON
    array file is read whole and given one object per line."""
    text_head = path.open(encoding="utf-8", errors="replace").read(64).lstrip()
    if text_head.startswith("["):
        items = json.loads(path.read_text(encoding="utf-8"))
        lines = [json.dumps(x) for x in items]
        for start in range(0, len(lines), size):
            yield start + 1, lines[start : start + size]
        return
    buf: list[str] = []
    first = 1
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for n, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if len(buf) >= size and _is_start(line):
                yield first, buf
                buf, first = [], n
            buf.append(line)
    if buf:
        yield first, buf


def ingest_file(
    path: Path,
    mode: str = "derive",
    source: str = "ais",
    size: int | None = None,
    stream_name: str | None = None,
) -> dict[str, Any]:
    """Store every chunk of the file as a raw batch, then derive (``derive``: here, events
    published for the workers; ``decide``: here, and decided here too; ``queue``: batches queued
    for the AIS worker). With ``stream_name`` the derivation state is the stored one of that
    stream (engine.ais.checkpoint), saved with every batch and not closed at the end of the file,
    so a killed run started again, or the next file, carries on from the last derived batch."""
    from engine.ais import batches
    from engine.ais.process import Derivation, derive_batch, finish
    from engine.ais.queueing import publish_batches, split_by_partition
    from engine.ais.settings import get_ais_settings
    from engine.pipeline.decide import decide_stored
    from engine.pipeline.ingest import Publish
    from engine.pipeline.publish import publish_committed

    decided: list[str] = []

    def decide_here(ids: list[str]) -> bool:
        decided.extend(decide_stored(ids))
        return True

    publish: Publish = decide_here if mode == "decide" else publish_committed
    stream = Derivation.resumed(stream_name) if stream_name else Derivation()
    totals: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    ids: list[str] = []
    routed: dict[int, list[str]] = {}
    for first, lines in chunks(path, size or batches.MAX_LINES):
        if mode == "queue" and get_ais_settings().partitions > 1:
            # each partition's lines stored as a batch of its own, for its own queue
            for part, mine in sorted(split_by_partition(lines).items()):
                stored = batches.store_batch(mine, channel="cli", source=source)
                routed.setdefault(part, []).append(stored.id)
                totals["batches_new" if stored.created else "batches_known"] += 1
            continue
        stored = batches.store_batch(lines, channel="cli", source=source, first_line=first)
        ids.append(stored.id)
        totals["batches_new" if stored.created else "batches_known"] += 1
        if mode == "queue" or stored.status == "derived":
            continue  # queued for the worker, or derived by an earlier run
        out = derive_batch(stored.id, stream, publish, expire=stream_name is not None)
        totals["lines"] += out.get("lines", 0)
        totals["reports"] += out.get("reports", 0)
        problems.update(out.get("problems", {}))
        totals.update(out.get("events", {}))
    if mode == "queue":
        ok = all([publish_batches(b, part) for part, b in sorted(routed.items())])
        totals["queued"] = int((publish_batches(ids) if ids else True) and ok)
    elif stream_name is None:
        end = finish(stream, publish)
        problems.update(end.get("problems", {}))
        totals.update(end.get("events", {}))
    return {"totals": dict(totals), "problems": dict(problems), "decided": len(decided)}


@click.group("ais")
def ais_cli() -> None:
    """Raw AIS: bulk ingest, the derivation worker, synthetic tracks."""


@ais_cli.command("ingest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--queue", "mode", flag_value="queue", help="Store, then queue for `sanctions ais worker`."
)
@click.option("--decide", "mode", flag_value="decide", help="Derive and decide in this process.")
@click.option(
    "--source", default="ais", show_default=True, help="Source name of the stored batches."
)
@click.option(
    "--stream",
    "stream_name",
    default=None,
    help="Resume and keep the stored derivation state of this stream (see docs/AIS.md).",
)
@click.option(
    "--lines",
    "size",
    type=click.IntRange(1, 20_000),
    default=None,
    help="Lines per stored batch (default 20,000).",
)
def ingest_command(
    file: Path, mode: str | None, source: str, stream_name: str | None, size: int | None
) -> None:
    """Ingest a file of NMEA AIVDM/AIVDO sentences or decoded AIS JSON (NDJSON or an array).

    Every chunk is stored as a raw batch before anything else; derived port calls, STS
    encounters, gaps and identity changes go through the normal event ingest (by default derived
    here and published for the workers to decide)."""
    out = ingest_file(file, mode or "derive", source, size=size, stream_name=stream_name)
    click.echo(json.dumps(out, indent=2, sort_keys=True))


@ais_cli.command("worker")
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("--loglevel", default="WARNING", show_default=True)
def worker_command(partition: int, loglevel: str) -> None:
    """Run the derivation worker of one partition queue (solo pool: one stream, in order)."""
    from engine.ais.queueing import queue_name

    argv = worker_argv(queue_name(partition), loglevel)
    os.environ["SANCTIONS_AIS_STREAM"] = queue_name(partition)  # whose stored state it resumes
    os.execv(argv[0], argv)  # become the worker: signals reach Celery, no orphaned child


def worker_argv(queue: str, loglevel: str = "WARNING", hostname: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "celery", "-A", "engine.ais.tasks", "worker", "--queues", queue]
    argv += ["--pool", "solo", "--loglevel", loglevel, "--without-gossip", "--without-mingle"]
    return argv + (["--hostname", hostname] if hostname else [])


@ais_cli.command("sweep")
def sweep_command() -> None:
    """Queue stored raw batches that were never derived (broker outage, lost message)."""
    from engine.ais.batches import underived_ids
    from engine.ais.queueing import partition_of_batch, publish_batches

    ids = underived_ids()
    by_part: dict[int, list[str]] = {}
    for bid in ids:  # a batch split by partition goes back to its partition's queue
        by_part.setdefault(partition_of_batch(bid), []).append(bid)
    ok = all([publish_batches(b, part) for part, b in sorted(by_part.items())])
    click.echo(f"{len(ids)} batches {'queued' if ok else 'left stored (broker unreachable)'}")


@ais_cli.command("synth")
@click.argument("scenario")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def synth_command(scenario: str, output: Path) -> None:
    """Write a synthetic scenario as NMEA (lighthouse_winmore, rajin_dunay, port_approach, ...)."""
    from engine.ais.synthetic import SCENARIOS, scenario_lines

    if scenario not in SCENARIOS:
        raise click.UsageError(f"unknown scenario; one of {', '.join(SCENARIOS)}")
    lines = scenario_lines(scenario)
    output.write_text("\n".join(lines) + "\n", encoding="ascii")
    click.echo(f"{len(lines)} sentences -> {output}")

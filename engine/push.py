"""`sanctions push FILE`: send a JSON or NDJSON file of events through the ingest path.

Over HTTP to a running service (``--url``), or in-process (``--direct``: engine.pipeline.ingest, the same
code the API runs). Either way the file goes in batches (default 100 events) with a progress bar.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine.pipeline.ingest import MAX_BATCH, Unparsable

COUNTS = ("accepted", "duplicate", "conflict", "invalid")


def read_events(path: Path) -> tuple[list[Any], list[str] | None]:
    """(items, ndjson_lines): a JSON array / object, or NDJSON (one event per line).

    NDJSON is chosen by extension (.ndjson, .jsonl) or when the whole file is not one JSON value;
    its original lines are returned too so HTTP sends them byte for byte.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() not in (".ndjson", ".jsonl"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass
        else:
            return (data if isinstance(data, list) else [data]), None
    lines = [line for line in text.splitlines() if line.strip()]
    items: list[Any] = []
    for n, line in enumerate(lines, start=1):
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            items.append(Unparsable(line, f"line {n} is not valid JSON: {exc.msg}"))
    return items, lines


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def push_events(
    items: Sequence[Any],
    url: str | None = None,
    ndjson_lines: Sequence[str] | None = None,
    batch_size: int = 100,
    headers: dict[str, str] | None = None,
    progress: bool = True,
    problems: list[str] | None = None,
) -> dict[str, int]:
    """Push ``items``: over HTTP when ``url`` is given, else in-process. Returns status counts;
    ``problems`` (if given) gets one line per invalid or conflicting item: its index, id, reasons."""
    batch_size = max(1, min(batch_size, MAX_BATCH))
    counts = dict.fromkeys(COUNTS, 0)
    counts["not_queued"] = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("pushing events", total=len(items))
        client = None
        if url:
            import httpx

            try:
                client = httpx.Client(base_url=url.rstrip("/"), headers=headers or {}, timeout=60.0)
            except (httpx.InvalidURL, ValueError, TypeError) as exc:
                raise click.ClickException(f"the URL {url!r} is not usable: {exc}") from None
        try:
            for start, end in _batches(len(items), batch_size):
                results = (
                    _post(
                        client, items[start:end], ndjson_lines[start:end] if ndjson_lines else None
                    )
                    if client
                    else _direct(items[start:end])
                )
                for r in results:
                    counts[r["status"]] += 1
                    if problems is not None and r["status"] in ("invalid", "conflict"):
                        reasons = "; ".join(
                            f"{e.get('pointer') or '/'}: {e.get('message')}"
                            for e in r.get("errors", [])
                        )
                        problems.append(
                            f"item {start + r.get('index', 0)} (event_id {r.get('event_id')!r}) "
                            f"{r['status']}: {reasons}"
                        )
                    if r.get("queued") is False:
                        counts["not_queued"] += 1
                bar.advance(task, end - start)
        finally:
            if client:
                client.close()
    return counts


def _direct(items: Sequence[Any]) -> list[dict[str, Any]]:
    from engine.pipeline.ingest import ingest_batch
    from engine.pipeline.publish import enqueue_event_ids

    return [
        r.to_json() for r in ingest_batch(list(items), channel="cli", publish=enqueue_event_ids)
    ]


def _post(client: Any, items: Sequence[Any], lines: Sequence[str] | None) -> list[dict[str, Any]]:
    if lines is not None:
        response = _send(
            client,
            content="\n".join(lines).encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        return _results(response)
    return _results(_send(client, json=list(items)))


def _send(client: Any, **kw: Any) -> Any:
    import httpx

    try:
        return client.post("/api/v1/events", **kw)
    except httpx.HTTPError as exc:  # unreachable host, refused connection, timeout, bad URL
        raise click.ClickException(
            f"cannot reach the service at {client.base_url}: {type(exc).__name__}: {exc}"
        ) from None


def _results(response: Any) -> list[dict[str, Any]]:
    if response.status_code not in (202, 409, 422):
        raise click.ClickException(
            f"{response.status_code} from the service: {response.text[:500]}"
        )
    return response.json()["results"]


@click.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="Base URL of a running service, e.g. http://127.0.0.1:8000")
@click.option("--direct", is_flag=True, help="Ingest in this process (no web service needed).")
@click.option(
    "--batch-size", default=100, show_default=True, help=f"Events per request (max {MAX_BATCH})."
)
@click.option(
    "--header",
    "-H",
    "header",
    multiple=True,
    help="Extra HTTP header 'Name: value' (e.g. an API key).",
)
def push_command(
    file: Path, url: str | None, direct: bool, batch_size: int, header: tuple[str, ...]
) -> None:
    """Push a JSON (object or array) or NDJSON file of events."""
    if bool(url) == direct:
        raise click.UsageError("give exactly one of --url URL or --direct")
    headers = {}
    for n, h in enumerate(header, start=1):
        name, sep, value = h.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            # never echo the header itself: it usually carries the API key
            raise click.UsageError(f"header {n} is malformed: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    items, lines = read_events(file)
    problems: list[str] = []
    counts = push_events(
        items,
        url=url,
        ndjson_lines=lines,
        batch_size=batch_size,
        headers=headers,
        problems=problems,
    )
    for line in problems:
        click.echo(line, err=True)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["invalid"] or counts["conflict"]:
        raise SystemExit(1)


SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "event-contract-v1.schema.json"


def schema_text() -> str:
    from engine.models.events import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


@click.command("schema")
@click.option(
    "--write",
    is_flag=True,
    help=f"Write it to {SCHEMA_PATH.relative_to(SCHEMA_PATH.parent.parent)}.",
)
def schema_command(write: bool) -> None:
    """Print (or --write) the JSON Schema of event contract v1."""
    if write:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
        click.echo(f"wrote {SCHEMA_PATH}")
    else:
        click.echo(schema_text(), nl=False)

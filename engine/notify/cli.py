"""``sanctions notify ...``: deliver notifications (one pass or a loop), add an endpoint from a
shell, verify a signature as a receiver would."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.group("notify")
def notify_cli() -> None:
    """Webhook and e-mail notifications (issue 14)."""


@notify_cli.command("deliver")
def deliver_command() -> None:
    """One pass: find SLA breaches, fan notifications out, make the attempts that are due."""
    from engine.notify.dispatch import run_once
    from engine.notify.sla import detect_breaches

    breaches = detect_breaches()
    click.echo(f"sla breaches told: {len(breaches)}; {run_once()}")


@notify_cli.command("run")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between passes (default SANCTIONS_NOTIFY_INTERVAL).",
)
def run_command(interval: float | None) -> None:
    """A dispatcher of its own (instead of, or besides, the workers' threads)."""
    from engine.notify.dispatch import run_once
    from engine.notify.settings import NotifySettings
    from engine.notify.sla import detect_breaches

    pause = NotifySettings().interval if interval is None else interval
    pause = pause if pause > 0 else 5.0
    while True:
        try:
            detect_breaches()
            run_once()
        except Exception as exc:  # a database outage: keep going
            click.echo(f"dispatch failed: {exc!r}", err=True)
        time.sleep(pause)


@notify_cli.command("add-endpoint")
@click.argument("url")
@click.option("--event", "events", multiple=True, help="Event type (repeat); default all.")
@click.option("--description", default=None)
@click.option("--actor", default="cli", show_default=True)
def add_endpoint_command(
    url: str, events: tuple[str, ...], description: str | None, actor: str
) -> None:
    """Add a webhook endpoint; prints its id and signing secret."""
    from engine.notify import endpoints
    from engine.notify.events import EVENT_TYPES
    from engine.storage.db import get_engine

    try:
        with get_engine().begin() as conn:
            endpoint_id, secret = endpoints.create(
                conn, url, list(events) or list(EVENT_TYPES), actor, description
            )
    except endpoints.EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"endpoint {endpoint_id} secret {secret}")


@notify_cli.command("verify")
@click.option("--secret", required=True, envvar="SANCTIONS_WEBHOOK_SECRET")
@click.option("--signature", "header", required=True, help="The X-Sanctions-Signature value.")
@click.argument("body", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(secret: str, header: str, body: Path) -> None:
    """Check a received body against its signature header (exit 1 if it does not verify)."""
    from engine.notify.signing import verify

    ok = verify(secret, header, body.read_bytes())
    click.echo("valid" if ok else "INVALID")
    sys.exit(0 if ok else 1)

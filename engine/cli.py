"""The engine's commands of the `sanctions` command line. Each engine area registers its own click
group or command here; the commands that need the web app (users, API keys, `run`) are added by
the top-level entry point, sanctions_cli.py, because engine/ does not import web/."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="sanctions-engine")
def main() -> None:
    """Sanctions-compliance rule engine: ingest, rules, lists, review."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (every Alembic branch)."""
    from engine.storage.db import migrate as run

    run()
    click.echo("database schema is up to date")


# Area commands are registered below (one line each; keep imports lazy-light).
from engine.lists.cli import lists_cli  # noqa: E402
from engine.pipeline.sweeper import sweep_command  # noqa: E402
from engine.pipeline.worker import worker_command  # noqa: E402
from engine.push import push_command, schema_command  # noqa: E402

main.add_command(worker_command)
main.add_command(sweep_command)
main.add_command(push_command)
main.add_command(schema_command)
main.add_command(lists_cli)
from engine.rules.cli import rules_cli  # noqa: E402

main.add_command(rules_cli)
from engine.registers.cli import exemptions_cli  # noqa: E402

main.add_command(exemptions_cli)
from engine.audit.cli import audit_cli  # noqa: E402

main.add_command(audit_cli)

from engine.normalise.cli import locode_cli  # noqa: E402

main.add_command(locode_cli)
from engine.ais.cli import ais_cli  # noqa: E402

main.add_command(ais_cli)
from engine.notify.cli import notify_cli  # noqa: E402

main.add_command(notify_cli)
from engine.vessels.cli import vessels_cli  # noqa: E402

main.add_command(vessels_cli)

"""``sanctions vessels``: the vessel_sightings index (engine/vessels/index.py)."""

from __future__ import annotations

import click


@click.group("vessels")
def vessels_cli() -> None:
    """Vessel memory: the sightings index the history rules read."""


@vessels_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the vessel_sightings index from the stored events (derived data: the events are
    not touched). The migration that creates the index back-fills it the same way."""
    from engine.storage.db import get_engine
    from engine.vessels.index import reindex

    with get_engine().begin() as conn:
        events, rows = reindex(conn)
    click.echo(f"vessel_sightings rebuilt: {rows} sightings from {events} stored events")

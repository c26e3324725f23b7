"""``sanctions locode``: import an edition of the UNECE UN/LOCODE code list, look a code up."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import click

from engine.normalise import locode

# UNECE publishes each edition (twice a year) as a zip of CSV files, e.g. loc242csv.zip.


@click.group("locode")
def locode_cli() -> None:
    """UN/LOCODE code list (port names and positions for the intake and geofences)."""


@locode_cli.command("update")
@click.argument("source")
@click.option("--timeout", default=60.0, show_default=True, help="seconds, for a URL")
def update_command(source: str, timeout: float) -> None:
    """Import a UNECE edition from SOURCE: a path or an http(s) URL of the zip of CSV files
    (UNECE's UN/LOCODE page), one of its CSV files, or the datahub code-list.csv. Replaces the
    imported edition; restart the workers to use it."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=timeout) as resp:
                data = resp.read()
        else:
            data = Path(source).read_bytes()
    except (OSError, urllib.error.URLError, ValueError) as exc:
        click.echo(f"cannot read {source}: {exc}", err=True)
        sys.exit(1)
    try:
        count = locode.write_edition(locode.read_edition(data, source), locode.edition_path())
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        click.echo(f"not a UN/LOCODE code list: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{count} locations imported to {locode.edition_path()}")


@locode_cli.command("show")
@click.argument("code")
def show_command(code: str) -> None:
    """Country, name and position of a UN/LOCODE."""
    loc = locode.lookup(code)
    if loc is None:
        country = locode.country_of_locode(code)
        click.echo(f"{code}: not in the code list" + (f" (country {country})" if country else ""))
        sys.exit(1)
    where = f"{loc.coordinates[0]}, {loc.coordinates[1]}" if loc.coordinates else "position unknown"
    click.echo(f"{loc.locode}\t{loc.country}\t{loc.name}\t{where}\t({loc.source})")

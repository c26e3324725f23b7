"""`sanctions exemptions ...`: the exemption / notification registers from the command line.

sanctions exemptions add FILE --by OFFICER          (or the fields as options)
sanctions exemptions approve REF --by SENIOR_OFFICER
sanctions exemptions list [--status pending] / show REF / revoke REF --by U --reason TEXT
sanctions exemptions import rules/exemptions.yaml --by OFFICER [--approve-by SENIOR]
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(getattr(exc, "message", None) or str(exc))


@click.group("exemptions")
def exemptions_cli() -> None:
    """Exemptions and notifications that citing shipments are checked against."""


@exemptions_cli.command("add")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "by", required=True, help="The officer recording the entry.")
@click.option("--ref")
@click.option("--kind", type=click.Choice(["exemption", "notification"]))
@click.option("--regime")
@click.option("--basis", help='Resolution and paragraph, e.g. "2397 (2017) OP25".')
@click.option("--holder", help="Holder's name (or the notifying State).")
@click.option("--holder-country", help="ISO 3166 alpha-2.")
@click.option("--end-user")
@click.option("--hs", multiple=True, help="HS prefix of the goods covered (repeatable).")
@click.option("--goods", "description", help="Description of the goods covered.")
@click.option("--quantity", type=float)
@click.option("--unit")
@click.option("--destination", help="ISO 3166 alpha-2 of the destination.")
@click.option("--valid-from")
@click.option("--valid-to")
@click.option("--covers", multiple=True, help="Rule id it lifts (repeatable; none = the regime).")
@click.option("--note")
@click.option("--document", help="The Committee's reference or letter.")
def add_cmd(file: str | None, by: str, **opts: Any) -> None:
    """Record an entry (from FILE, YAML or JSON, or from the options), pending approval."""
    from engine.registers import store
    from engine.registers.actors import MAKERS, require_user
    from engine.registers.importing import ImportFormatError, parse_entries, read_file

    try:
        if file:
            entries = read_file(file)
        else:
            entries = parse_entries(_from_options(opts), "options")
        actor = require_user(by, MAKERS, "record register entries")
        for e in entries:
            stored = store.add(e, actor)
            click.echo(
                f"recorded {stored.entry.kind} {stored.ref} (register version {stored.version}); "
                "pending approval by a senior officer"
            )
    except (ImportFormatError, store.RegisterError) as exc:
        raise _fail(exc) from exc


def _from_options(o: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        k: o[k]
        for k in ("ref", "kind", "regime", "end_user", "destination", "valid_from", "valid_to")
        if o.get(k)
    }
    for k in ("note", "document"):
        if o.get(k):
            raw[k] = o[k]
    if o.get("covers"):
        raw["covers"] = list(o["covers"])
    if o.get("basis"):
        text = o["basis"].strip()
        res, _, par = text.rpartition(" OP")
        if not res:
            raise click.BadParameter('use "RESOLUTION (YEAR) OPn", e.g. "2397 (2017) OP25"')
        raw["basis"] = {"resolution": res.strip(), "paragraph": par.strip()}
    if o.get("holder"):
        raw["holder"] = {"name": o["holder"], "country": o.get("holder_country")}
    if o.get("hs") or o.get("description"):
        item: dict[str, Any] = {"hs": list(o.get("hs") or ()), "description": o.get("description")}
        if o.get("quantity") is not None:
            item.update(quantity=o["quantity"], unit=o.get("unit"))
        raw["goods"] = [item]
    return raw


@exemptions_cli.command("approve")
@click.argument("ref")
@click.option("--by", "by", required=True, help="The senior officer approving (not the creator).")
@click.option("--note")
def approve_cmd(ref: str, by: str, note: str | None) -> None:
    """Approve REF, acting for the named senior officer: from then on it can clear."""
    from engine.registers import store
    from engine.registers.actors import CHECKERS, require_user

    try:
        actor = require_user(by, CHECKERS, "approve register entries")
        stored = store.approve(ref, actor, note)
    except store.RegisterError as exc:
        raise _fail(exc) from exc
    click.echo(f"approved {stored.ref} by {actor} (register version {stored.version})")


@exemptions_cli.command("revoke")
@click.argument("ref")
@click.option("--by", "by", required=True)
@click.option("--reason", required=True)
def revoke_cmd(ref: str, by: str, reason: str) -> None:
    """Revoke REF: it clears nothing from the next register version on."""
    from engine.registers import store
    from engine.registers.actors import MAKERS, require_user

    try:
        actor = require_user(by, MAKERS, "revoke register entries")
        stored = store.revoke(ref, actor, reason)
    except store.RegisterError as exc:
        raise _fail(exc) from exc
    click.echo(f"revoked {stored.ref} (register version {stored.version})")


@exemptions_cli.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "revoked"]))
@click.option("--kind", type=click.Choice(["exemption", "notification"]))
@click.option("--regime")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(status: str | None, kind: str | None, regime: str | None, as_json: bool) -> None:
    """The entries as they stand now."""
    from engine.registers import store

    rows = store.entries(status=status, kind=kind, regime=regime)
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    t = Table(title=f"register version {store.current_version()}")
    for col in ("ref", "kind", "regime", "status", "valid", "covers", "by", "approved by"):
        t.add_column(col)
    for r in rows:
        e = r.entry
        t.add_row(
            e.ref + (" (demo)" if e.demo else ""),
            e.kind,
            e.regime,
            r.status,
            f"{e.valid_from} .. {e.valid_to or 'open'}",
            ", ".join(e.covers) or "whole regime",
            r.created_by,
            r.approved_by or "-",
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=240)  # piped or captured: do not fold refs to 80 columns
    console.print(t)


@exemptions_cli.command("show")
@click.argument("ref")
@click.option("--version", "version", type=int, help="As it stood at this register version.")
def show_cmd(ref: str, version: int | None) -> None:
    """One entry (JSON) with its history."""
    from engine.registers import store

    try:
        found = store.snapshot(version).get(ref) if version is not None else store.get(ref)
    except store.RegisterError as exc:
        raise _fail(exc) from exc
    if found is None:
        raise click.ClickException(f"no register entry {ref!r}")
    body = found.to_json()
    body["history"] = [c.to_json() for c in store.history(ref)]
    click.echo(json.dumps(body, indent=2))


@exemptions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "by", required=True, help="The officer recording the entries.")
@click.option("--approve-by", help="A senior officer approving them at once (not --by).")
def import_cmd(file: str, by: str, approve_by: str | None) -> None:
    """Import FILE (the YAML format of rules/exemptions.yaml); refs already present are skipped."""
    from engine.registers import store
    from engine.registers.actors import CHECKERS, MAKERS, require_user
    from engine.registers.importing import ImportFormatError, read_file

    try:
        entries = read_file(file)
        actor = require_user(by, MAKERS, "record register entries")
        approver = require_user(approve_by, CHECKERS, "approve") if approve_by else None
        if approver == actor:
            raise store.RegisterError(f"{actor} cannot approve entries they record", 403)
        added, skipped = store.import_entries(entries, actor, approver)
    except (ImportFormatError, store.RegisterError) as exc:
        raise _fail(exc) from exc
    state = "approved" if approver else "pending approval"
    click.echo(f"imported {len(added)} entries ({state}); {len(skipped)} already present")

"""``sanctions audit ...``: keys, sealing heads, verification, proofs."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


@click.group("audit")
def audit_cli() -> None:
    """Tamper evidence: journals, signed Merkle heads, proofs, verification."""


@audit_cli.command("keygen")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
def keygen(out: Path) -> None:
    """Write a new Ed25519 signing key (keep it outside the database; SANCTIONS_AUDIT_KEY_FILE)."""
    from engine.audit.signing import generate_key, key_id

    try:
        pub = generate_key(out)
    except FileExistsError:
        raise click.ClickException(f"{out} exists; not overwritten") from None
    click.echo(f"private key: {out}")
    click.echo(f"public key (hex): {pub.hex()}")
    click.echo(f"key id: {key_id(pub)}")


@audit_cli.command("public-key")
def public_key_command() -> None:
    """Print the public key of SANCTIONS_AUDIT_KEY_FILE (hex)."""
    from engine.audit.signing import NoSigningKey, public_key

    try:
        click.echo(public_key().hex())
    except NoSigningKey as exc:
        raise click.ClickException(str(exc)) from None


@audit_cli.command("seal")
def seal() -> None:
    """Sequence pending records and write a signed tree head now."""
    from engine.audit.sequencer import write_head
    from engine.audit.signing import NoSigningKey

    try:
        head = write_head()
    except NoSigningKey as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"head {head['id']}: size {head['tree_size']} root {head['root_hash']}")


@audit_cli.command("verify")
@click.option("--from", "since", default=None, help="Entries sequenced from (ISO date/time).")
@click.option("--to", "until", default=None, help="Entries sequenced before (ISO date/time).")
@click.option("--public-key", "pub", default=None, help="Hex public key (default: the key file's).")
def verify_command(since: str | None, until: str | None, pub: str | None) -> None:
    """Walk the chains and heads; print the first broken link with its record. Exit 1 if any."""
    from engine.audit.checks import verify
    from engine.audit.sequencer import sequence_all
    from engine.audit.signing import NoSigningKey, public_key

    sequence_all()
    key = bytes.fromhex(pub) if pub else None
    if key is None:
        try:
            key = public_key()
        except NoSigningKey:
            click.echo("no public key given: head signatures not checked", err=True)
    report = verify(_when(since), _when(until), key)
    if report.ok:
        click.echo(f"ok: {report.entries} entries, {report.heads} signed heads verified")
        return
    click.echo(f"BROKEN: {report.problems[0]}")
    for p in report.problems[1:20]:
        click.echo(f"  also: {p}")
    sys.exit(1)


@audit_cli.command("prove")
@click.option("--event-id", default=None, help="The decision of this event.")
@click.option("--kind", default=None)
@click.option("--key", default=None)
@click.option("--head", "head_id", type=int, default=None, help="Head id (default newest).")
def prove(event_id: str | None, kind: str | None, key: str | None, head_id: int | None) -> None:
    """Inclusion proof of one record (JSON) against a signed head."""
    from engine.audit.proofs import decision_inclusion, inclusion

    try:
        if event_id:
            out = decision_inclusion(event_id, head_id)
        elif kind and key:
            out = inclusion(kind, key, head_id)
        else:
            raise click.UsageError("give --event-id, or --kind and --key")
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(out, indent=1, sort_keys=True))


@audit_cli.command("consistency")
@click.argument("first", type=int)
@click.argument("second", type=int)
def consistency_command(first: int, second: int) -> None:
    """Consistency proof between two signed heads (JSON)."""
    from engine.audit.proofs import consistency

    try:
        click.echo(json.dumps(consistency(first, second), indent=1, sort_keys=True))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


@audit_cli.command("export")
@click.option("--from", "since", required=True, help="Events that occurred from (date).")
@click.option("--to", "until", required=True, help="Events that occurred before (date).")
@click.option("--regime", default=None)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None)
def export_command(since: str, until: str, regime: str | None, out: Path | None) -> None:
    """Write the audit pack of a period (zip; verify with python3 verify.py, standard library)."""
    from engine.audit.export import UnreadableRecords, export_pack
    from engine.audit.signing import NoSigningKey

    start, end = _when(since), _when(until)
    assert start is not None and end is not None
    out = out or Path(f"audit-pack-{start:%Y%m%d}-{end:%Y%m%d}.zip")
    try:
        summary = export_pack(out, start, end, regime)
    except (NoSigningKey, UnreadableRecords) as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary["counts"].items()))
    click.echo(f"{out}: {counts}")

"""`sanctions users ...` and `sanctions apikeys ...`: accounts and API keys from the shell."""

from __future__ import annotations

import click

from engine.storage.desk_tables import API_SCOPES, EVENT_SCOPES, ROLES


def _ready() -> None:
    from engine.storage.db import migrate

    migrate()  # idempotent; the tables must exist before the first account is made


@click.group("users")
def users_cli() -> None:
    """Web app accounts (roles: officer, senior_officer, auditor, admin)."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.password_option(help="Prompted for (twice) when not given; at least 10 characters.")
def users_create(username: str, role: str, display_name: str | None, password: str) -> None:
    """Create a user."""
    from web.auth.accounts import AccountError, create_user

    _ready()
    try:
        create_user(username, password, role, actor="cli", display_name=display_name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} created with role {role}")


@users_cli.command("list")
def users_list() -> None:
    """List users."""
    from web.auth.accounts import list_users

    _ready()
    for u in list_users():
        state = "active" if u.active else "disabled"
        click.echo(f"{u.username:20} {u.role:15} {state:9} {u.display_name or ''}")


@users_cli.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user (users are never deleted; their audit trail stays)."""
    from web.auth.accounts import AccountError, set_active

    _ready()
    try:
        set_active(username, False, actor="cli")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} disabled")


@click.group("apikeys")
def apikeys_cli() -> None:
    """API keys for upstream systems (events:write, events:read) and registers (registers:*)."""


@apikeys_cli.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    type=click.Choice(API_SCOPES),
    multiple=True,
    help="Repeat for several; default: events:write and events:read.",
)
def apikeys_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from web.auth.apikeys import ApiKeyError, create_api_key

    _ready()
    try:
        row, key = create_api_key(name, list(scopes or EVENT_SCOPES), actor="cli")
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"API key {row.id} ({row.name}, scopes {', '.join(row.scopes)}); shown once:", err=True
    )
    click.echo(key)


@apikeys_cli.command("list")
def apikeys_list() -> None:
    """List keys (never the keys themselves)."""
    from web.auth.apikeys import list_api_keys

    _ready()
    for k in list_api_keys():
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        click.echo(f"{k.id:4} {k.name:24} {k.prefix}…  {','.join(k.scopes):26} {state}")


@apikeys_cli.command("revoke")
@click.argument("key_id", type=int)
def apikeys_revoke(key_id: int) -> None:
    """Revoke a key (it stops working at once)."""
    from web.auth.apikeys import ApiKeyError, revoke_api_key

    _ready()
    try:
        revoke_api_key(key_id, actor="cli")
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API key {key_id} revoked")

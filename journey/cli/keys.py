"""`journey keys create|origins|list|revoke`: write keys, one per source (site, app, server)."""

from __future__ import annotations

import click

from collector.keys import BROWSER, KINDS, KeyStore, open_keys
from journey.cli.common import settings, shared_store
from reports.output import render


@click.group()
def keys() -> None:
    """Write keys: one per source (site, app, server)."""


def _key_store() -> KeyStore:
    config = settings()
    return open_keys(config, shared_store(config))


@keys.command("create")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="A web origin allowed to send with this key (repeat; https://*.shop.example for "
    "subdomains). Without any, every origin may.",
)
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default=BROWSER,
    show_default=True,
    help="browser: the snippet's key, readable in every page (bare HTTP clients count as "
    "bots); server: a backend's (curl, requests, a server SDK), whose HTTP client never makes "
    "an event a bot.",
)
def keys_create(name: str, origins: tuple[str, ...], kind: str) -> None:
    """Create a write key for source NAME and print it."""
    try:
        click.echo(_key_store().create(name, origins, kind))
    except ValueError as exc:
        raise click.ClickException(f"--origin: {exc}" if origins else str(exc)) from None


@keys.command("origins")
@click.argument("name_or_key")
@click.argument("origins", nargs=-1)
def keys_origins(name_or_key: str, origins: tuple[str, ...]) -> None:
    """Set the origins allowed to send with a key (none given: every origin may)."""
    try:
        count = _key_store().set_origins(name_or_key, origins)
    except ValueError as exc:
        raise click.ClickException(f"ORIGINS: {exc}") from None
    if not count:
        raise click.ClickException(f"no active write key named or equal to {name_or_key!r}")
    click.echo(f"{count} key(s) now accept " + (" ".join(origins) if origins else "any origin"))


@keys.command("list")
def keys_list() -> None:
    """List write keys."""
    rows = [
        {
            "name": k.name,
            "key": k.key,
            "kind": k.kind,
            "origins": " ".join(k.origins) or "(any)",
            "created": k.created_at,
            "revoked": k.revoked_at or "",
        }
        for k in _key_store().list()
    ]
    click.echo(
        render(rows) if rows else "no write keys; create one with `journey keys create NAME`"
    )


@keys.command("revoke")
@click.argument("name_or_key")
def keys_revoke(name_or_key: str) -> None:
    """Revoke a write key (by name or key); collectors stop accepting it within seconds."""
    count = _key_store().revoke(name_or_key)
    if not count:
        raise click.ClickException(f"no active write key named or equal to {name_or_key!r}")
    click.echo(f"revoked {count} key(s)")

"""`journey tokens create|list|revoke` (analysts' bearer tokens) and `journey api` (the
analysts' API and dashboard on their own, for deployments with a ClickHouse server)."""

from __future__ import annotations

from typing import Any

import click

from journey.cli.common import report_store, settings
from reports.output import render
from reports.tokens import open_tokens
from storage import migrations


def token_store() -> Any:

    config = settings()
    if config.embedded:
        return open_tokens(config)

    store = report_store()
    migrations.apply(store)
    return open_tokens(config, store)


@click.group()
def tokens() -> None:
    """Analysts' bearer tokens for the API and the dashboard (stored hashed)."""


@tokens.command("create")
@click.argument("name")
def create_cmd(name: str) -> None:
    """Create a token for NAME and print it (it is shown only this once)."""
    try:
        click.echo(token_store().create(name))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@tokens.command("list")
def list_cmd() -> None:
    """Tokens by name and fingerprint (the start of their hash), never the tokens."""
    rows = [
        {
            "name": t.name,
            "fingerprint": t.fingerprint,
            "created": t.created_at,
            "revoked": t.revoked_at or "",
        }
        for t in token_store().list()
    ]
    click.echo(render(rows) if rows else "no tokens; create one with `journey tokens create NAME`")


@tokens.command("revoke")
@click.argument("name_or_fingerprint")
def revoke_cmd(name_or_fingerprint: str) -> None:
    """Revoke the tokens of a name, or one by its fingerprint; at once."""
    count = token_store().revoke(name_or_fingerprint)
    if not count:
        raise click.ClickException(
            f"no active token named or fingerprinted {name_or_fingerprint!r}"
        )
    click.echo(f"revoked {count} token(s)")

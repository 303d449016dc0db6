"""`journey migrate`: apply the ClickHouse migrations that have not run yet."""

from __future__ import annotations

import click

from journey.cli.common import settings, store
from storage import migrations


@click.command()
def migrate() -> None:
    """Apply the ClickHouse migrations that have not run yet."""
    found = store(settings())
    ran = migrations.apply(found)
    for m in ran:
        click.echo(f"applied {m.version:04d} {m.name}: {m.description}")
    click.echo(f"database {found.database} is up to date ({len(migrations.discover())} migrations)")

"""`journey load`: a loader, consuming the events topic into ClickHouse until SIGTERM."""

from __future__ import annotations

import click

from core.settings import SettingsError
from journey.cli.common import settings, store
from loader.consumer import run_forever


@click.command()
def load() -> None:
    """Run a loader: consume the events topic into ClickHouse until SIGTERM."""
    config = settings()
    try:
        stats = run_forever(config, lambda: store(config))
    except SettingsError as exc:  # refused credentials, a missing topic Journey may not create
        raise click.ClickException(str(exc)) from None
    click.echo(f"loader stopped: {stats}")

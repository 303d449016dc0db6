"""`journey up`: the whole pipeline on this machine until Ctrl-C (the embedded default)."""

from __future__ import annotations

import signal
import threading

import click

from journey.cli.common import settings
from journey.stack import Stack


@click.command()
def up() -> None:
    """Run the whole pipeline locally until Ctrl-C: broker, collector, loader, store."""
    config = settings()
    with Stack(config) as stack:
        keys, tokens = stack.keys, stack.tokens
        if not config.write_keys and not any(k.revoked_at is None for k in keys.list()):
            key = keys.create("default")
            click.echo(f"created write key 'default': {key}")
        if not any(t.revoked_at is None for t in tokens.list()):
            token = tokens.create("default")
            click.echo(f"created analyst token 'default' (shown once): {token}")
        marker = config.data_dir / "up.url"
        marker.write_text(stack.collector_url)
        click.echo(f"collector: {stack.collector_url}/v1/batch")
        click.echo(f"kafka:     {','.join(stack.settings.kafka_bootstrap_servers)}")
        click.echo(
            f"store:     {'chDB at ' + str(config.chdb_path) if config.embedded else config.clickhouse}"
        )
        click.echo(f"dashboard: {stack.collector_url}/dashboard")
        click.echo(f"API:       {stack.collector_url}/api/v1 (described at /api/v1/openapi.json)")
        click.echo("write keys: `journey keys list`; analyst tokens: `journey tokens list`")
        click.echo("Ctrl-C to stop")
        stop = threading.Event()
        # Ctrl-C and SIGTERM both stop it, even when started with SIGINT ignored (a shell's
        # background job), where Python raises no KeyboardInterrupt
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            while not stop.wait(1.0):
                pass
        finally:
            marker.unlink(missing_ok=True)
            click.echo("stopping")

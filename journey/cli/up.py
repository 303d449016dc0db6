"""`journey up`: the whole pipeline on this machine until Ctrl-C (the embedded default)."""

from __future__ import annotations

import signal
import threading

import click

from collector.keys import BROWSER, SERVER
from journey.cli.common import running, settings
from journey.stack import Stack


@click.command()
def up() -> None:
    """Run the whole pipeline locally until Ctrl-C: broker, collector, loader, store."""
    with running(settings()) as stack:
        serve(stack)


def serve(stack: Stack) -> None:
    """Say where everything is, with a write key of each kind, and run until a signal."""
    config = stack.settings
    keys, tokens = stack.keys, stack.tokens
    active = [k for k in keys.list() if k.revoked_at is None]
    if not config.write_keys and not any(k.kind == BROWSER for k in active):
        key = keys.create("website")
        click.echo(f"created write key 'website' (browser, for the snippet): {key}")
    if not any(k.kind == SERVER for k in active):
        key = keys.create("backend", kind=SERVER)
        click.echo(f"created write key 'backend' (server, for curl and server SDKs): {key}")
    if not any(t.revoked_at is None for t in tokens.list()):
        token = tokens.create("default")
        click.echo(f"created analyst token 'default' (shown once): {token}")
    marker = config.data_dir / "up.url"
    marker.write_text(stack.collector_url)
    click.echo(f"collector: {stack.collector_url}/v1/batch")
    click.echo(f"kafka:     {','.join(config.kafka_bootstrap_servers)}")
    click.echo(
        f"store:     {'chDB at ' + str(config.chdb_path) if config.embedded else config.clickhouse}"
    )
    click.echo(f"dashboard: {stack.collector_url}/dashboard")
    click.echo(f"API:       {stack.collector_url}/api/v1 (described at /api/v1/openapi.json)")
    for k in keys.list():
        if k.revoked_at is None:
            click.echo(f"write key: {k.key}  ({k.name}, {k.kind})")
    click.echo("analyst tokens: `journey tokens list`")
    click.echo("Ctrl-C to stop", nl=True)
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

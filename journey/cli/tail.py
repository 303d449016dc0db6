"""`journey tail`: the events the collectors accept and the dead letters with their reasons, as
they arrive (reports/live.py), to watch a first event or a new integration come in."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace

import click

from journey.cli.common import held_by_up, local_api, settings
from reports.live import follow
from reports.output import json_text


@click.command()
@click.option(
    "--last", default=10, show_default=True, type=click.IntRange(0, 10_000),
    help="start this many messages before the end of each partition (0: only new ones)",
)  # fmt: skip
@click.option(
    "--count", default=0, type=click.IntRange(0), help="stop after this many lines (0: Ctrl-C)"
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def tail(last: int, count: int, fmt: str) -> None:
    """Follow accepted events and dead letters (with the reason each was refused) until Ctrl-C.
    Bots are marked: reports leave them out unless asked to include them."""
    config = settings()
    if config.embedded and held_by_up(config):  # the bundled broker is where `journey up` says
        stack = local_api(config, "/api/stack")
        config = replace(config, kafka_bootstrap_servers=tuple(stack["kafka_bootstrap_servers"]))
    elif not config.kafka_bootstrap_servers:
        raise click.ClickException(
            "no Kafka to follow: set JOURNEY_KAFKA_BOOTSTRAP_SERVERS, or run `journey up`"
        )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for shown, seen in enumerate(follow(config, last, stop.is_set), start=1):
        click.echo(json_text(seen.as_dict(), None) if fmt == "json" else seen.line())
        if count and shown >= count:
            break

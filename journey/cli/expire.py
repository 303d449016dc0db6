"""`journey expire`: the data retention policy, once (for cron where `journey up` is not run)."""

from __future__ import annotations

import json

import click

from journey.cli.common import settings, store
from privacy.expiry import expire as apply_policy


@click.command()
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="keep this many days of events [JOURNEY_DATA_RETENTION_DAYS]",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def expire(days: int | None, fmt: str) -> None:
    """Apply the data retention policy once: delete events older than the retention period
    (what `journey up` does daily; for cron in a deployment without it)."""
    config = settings()
    days = config.data_retention_days if days is None else days
    done = apply_policy(store(config), days)
    if fmt == "json":
        click.echo(json.dumps(done.as_dict()))
    elif days == 0:
        click.echo("JOURNEY_DATA_RETENTION_DAYS is 0: every event is kept; nothing deleted")
    else:
        click.echo(
            f"deleted {done.rows_deleted:,} events before {done.horizon:%Y-%m-%d %H:%M} UTC "
            f"(kept: the last {days} days); months dropped whole: "
            f"{', '.join(done.partitions_dropped) or 'none'}"
            + ("; the events table's TTL keeps it between runs" if done.ttl else "")
        )

"""`journey demo`: the local stack with demo traffic sent through it over HTTP, and the report
of what loaded (the first of the README's two commands)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import click

from analyzer.experiments import catalog as experiments
from analyzer.segments import catalog as segments
from analyzer.segments.definition import parse_document as parse_segments
from analyzer.summary import report
from journey import demo as traffic
from journey.cli.common import running, settings
from journey.cli.progress import finish, terminal
from journey.cli.report import write_journey_report
from reports import summary
from reports.analyses import run
from reports.journey_report import define_shop_stages
from reports.params import Params
from storage.store import Store


@click.command()
@click.option("--visitors", default=3000, show_default=True, help="how many visitors to simulate")
@click.option("--seed", default=7, show_default=True)
def demo(visitors: int, seed: int) -> None:
    """Start the local stack, send demo traffic through it over HTTP, and report what loaded."""
    config = settings().with_overrides(collector_port=0)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # the demo's output is the report
    key = "demo-write-key"
    config = config.with_overrides(write_keys={**config.write_keys, key: "demo"})
    click.echo(
        "starting the local stack (bundled broker, collector, loader, embedded ClickHouse)..."
    )
    with running(config) as stack:
        before = stack.loaded_events()
        now = datetime.now(UTC)
        messages = traffic.generate(visitors, seed, now)
        started = time.monotonic()
        sent = traffic.send(messages, stack.collector_url, key)
        click.echo(
            f"sent {len(messages)} events from {visitors} visitors in {sent.requests} requests "
            f"to {stack.collector_url}: {sent.accepted} accepted, {sent.rejected} rejected "
            f"(dead-lettered with their reason)"
        )
        progress = terminal()
        loaded = stack.wait_loaded(before + sent.accepted, progress=progress)
        finish(progress)
        click.echo(
            f"loaded {loaded - before} new events in {time.monotonic() - started:.1f}s "
            f"({loaded} in the store)\n"
        )
        assert stack.store is not None
        click.echo(summary.text(report(stack.store)))
        if loaded - before < sent.accepted:
            raise click.ClickException(f"only {loaded - before} of {sent.accepted} events loaded")
        define_shop_stages(stack.store)  # the journey map's stages, as touchpoint sets
        # the experiment the traffic ran, and the segment it targets
        segments.define(stack.store, parse_segments(traffic.SEGMENTS))
        experiments.define(stack.store, [traffic.experiment(now)])
        click.echo(_experiment_line(stack.store, traffic.EXPERIMENT["key"]))
        path = write_journey_report(stack.store, config.data_dir / "journey-report.html")
        click.echo(f"\nthe journey report of the demo traffic, with charts: {path}")


def _experiment_line(store: Store, key: str) -> str:
    """The demo experiment's primary metric in one line: each variant's rate, and the lift."""
    shown = run(store, "experiment", Params.of(experiment=key)).data
    primary = shown["metrics"][0]
    everyone = primary["groups"][0]["variants"]
    rates = ", ".join(f"{f['variant']} {f['value']:.1%} of {f['people']}" for f in everyone)
    lift = next(f["lift"] for f in everyone if f["lift"])
    points = [100 * lift[k] for k in ("absolute", "absolute_low", "absolute_high")]
    return (
        f"\nexperiment {key}: {primary['name']} {rates}; lift {points[0]:+.1f} points "
        f"(95% interval {points[1]:+.1f} to {points[2]:+.1f}, p = {lift['p_value']:.2g})"
    )

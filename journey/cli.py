"""`journey`: run the pipeline's parts, manage write keys, migrate, and report."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from core.settings import Settings, SettingsError, from_env
from reports.output import duration_text


def _settings() -> Settings:
    try:
        return from_env()
    except SettingsError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from None


def _store(settings: Settings) -> Any:
    from storage import connect

    try:
        return connect(settings)
    except RuntimeError as exc:
        if settings.embedded and "lock" in str(exc).lower():
            raise click.ClickException(
                f"the embedded store at {settings.chdb_path} is in use by another Journey process "
                "(`journey up`?); stop it, or configure JOURNEY_CLICKHOUSE_URL"
            ) from None
        raise click.ClickException(str(exc)) from None


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="log at INFO level")
def main(verbose: bool) -> None:
    """Journey: customer journey event tracking and analysis."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # one line per request is noise for the local stack; gunicorn keeps its own access log
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    # the driver logs each failed connect with a traceback; our own message says it in one line
    logging.getLogger("clickhouse_driver").setLevel(logging.INFO if verbose else logging.ERROR)


@main.command()
def migrate() -> None:
    """Apply the ClickHouse migrations that have not run yet."""
    from storage import migrations

    store = _store(_settings())
    ran = migrations.apply(store)
    for m in ran:
        click.echo(f"applied {m.version:04d} {m.name}: {m.description}")
    click.echo(f"database {store.database} is up to date ({len(migrations.discover())} migrations)")


@main.command()
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
    from privacy.expiry import expire as apply_policy

    settings = _settings()
    days = settings.data_retention_days if days is None else days
    done = apply_policy(_store(settings), days)
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


@main.command()
def load() -> None:
    """Run a loader: consume the events topic into ClickHouse until SIGTERM."""
    from loader.consumer import run_forever

    settings = _settings()
    try:
        stats = run_forever(settings, lambda: _store(settings))
    except SettingsError as exc:  # refused credentials, a missing topic Journey may not create
        raise click.ClickException(str(exc)) from None
    click.echo(f"loader stopped: {stats}")


@main.command()
def collect() -> None:
    """Serve the collector under gunicorn (JOURNEY_COLLECTOR_WORKERS x _THREADS)."""
    from gunicorn.app.base import BaseApplication

    settings = _settings()
    _check_kafka(settings)

    class Collector(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.collector_host}:{settings.collector_port}")
            self.cfg.set("workers", settings.collector_workers)
            self.cfg.set("threads", settings.collector_threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("graceful_timeout", 10)

        def load(self) -> Any:
            from collector.app import create_app

            return create_app(settings)  # built in each worker, after the fork

    Collector().run()


def _check_kafka(settings: Settings) -> None:
    """Stop start-up on what waiting cannot mend (refused credentials, a missing topic that
    Journey may not create); brokers that are down are no reason: the collector spools."""
    from core.kafka import ensure_topics

    try:
        ensure_topics(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - unreachable now; the spool takes events meanwhile
        logging.getLogger(__name__).warning("Kafka unreachable at start-up (%s); spooling", exc)


@main.command()
def up() -> None:
    """Run the whole pipeline locally until Ctrl-C: broker, collector, loader, store."""
    from journey.stack import Stack

    settings = _settings()
    with Stack(settings) as stack:
        keys, tokens = stack.keys, stack.tokens
        if not settings.write_keys and not any(k.revoked_at is None for k in keys.list()):
            key = keys.create("default")
            click.echo(f"created write key 'default': {key}")
        if not any(t.revoked_at is None for t in tokens.list()):
            token = tokens.create("default")
            click.echo(f"created analyst token 'default' (shown once): {token}")
        marker = settings.data_dir / "up.url"
        marker.write_text(stack.collector_url)
        click.echo(f"collector: {stack.collector_url}/v1/batch")
        click.echo(f"kafka:     {','.join(stack.settings.kafka_bootstrap_servers)}")
        click.echo(
            f"store:     {'chDB at ' + str(settings.chdb_path) if settings.embedded else settings.clickhouse}"
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


@main.command()
@click.option("--visitors", default=3000, show_default=True, help="how many visitors to simulate")
@click.option("--seed", default=7, show_default=True)
def demo(visitors: int, seed: int) -> None:
    """Start the local stack, send demo traffic through it over HTTP, and report what loaded."""
    from analyzer.summary import report
    from journey import demo as traffic
    from journey.stack import Stack

    settings = _settings().with_overrides(collector_port=0)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # the demo's output is the report
    key = "demo-write-key"
    settings = settings.with_overrides(write_keys={**settings.write_keys, key: "demo"})
    click.echo(
        "starting the local stack (bundled broker, collector, loader, embedded ClickHouse)..."
    )
    with Stack(settings) as stack:
        before = stack.loaded_events()
        messages = traffic.generate(visitors, seed)
        started = time.monotonic()
        sent = traffic.send(messages, stack.collector_url, key)
        click.echo(
            f"sent {len(messages)} events from {visitors} visitors in {sent.requests} requests "
            f"to {stack.collector_url}: {sent.accepted} accepted, {sent.rejected} rejected "
            f"(dead-lettered with their reason)"
        )
        loaded = stack.wait_loaded(before + sent.accepted)
        click.echo(
            f"loaded {loaded - before} new events in {time.monotonic() - started:.1f}s "
            f"({loaded} in the store)\n"
        )
        assert stack.store is not None
        click.echo(_summary_text(report(stack.store)))
        if loaded - before < sent.accepted:
            raise click.ClickException(f"only {loaded - before} of {sent.accepted} events loaded")
        path = _write_journey_report(stack.store, settings.data_dir / "journey-report.html")
        click.echo(f"\nthe journey report of the demo traffic, with charts: {path}")


@main.group()
def report() -> None:
    """Reports over the loaded events."""


@report.command("summary")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def report_summary(fmt: str) -> None:
    """What is loaded, the shop funnel by traffic source and device, and its stages."""
    from analyzer.summary import report
    from storage import migrations

    settings = _settings()
    if settings.embedded and _held_by_up(settings):
        data = _local_api(settings, "/api/summary")
    else:
        store = _store(settings)
        migrations.apply(store)  # an empty store reports zeros rather than a missing table
        data = report(store)
    click.echo(json.dumps(data, indent=2, default=str) if fmt == "json" else _summary_text(data))


def _write_journey_report(store: Any, path: Path) -> Path:
    from reports import html, journey_report

    period = journey_report.period_of(store)
    if period is None:
        raise click.ClickException("no events loaded: nothing to report")
    results = journey_report.results(store, *period)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html.page("Journey report", results), encoding="utf-8")
    return path.resolve()


@report.command("journey")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("journey-report.html"),
    show_default=True,
)
def report_journey(output: Path) -> None:
    """The shop's journey report (funnels, trend, paths, pain points, retention) as HTML."""
    click.echo(f"wrote {_write_journey_report(_report_store(), output)}")


def _duration(text: str, option: str) -> timedelta:
    from analyzer import durations

    try:
        return durations.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _date(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date like 2024-05-01", param_hint=option
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _report_store() -> Any:
    """The configured store, migrated, for a report; refused while `journey up` holds chDB."""
    from storage import migrations

    settings = _settings()
    if settings.embedded and _held_by_up(settings):
        raise click.ClickException(
            "`journey up` holds the embedded store; stop it to run this report, "
            "or configure JOURNEY_CLICKHOUSE_URL"
        )
    store = _store(settings)
    migrations.apply(store)
    return store


from journey import report_commands  # noqa: E402  (registers funnel, paths, ... on `report`)

report_commands.register(report, _report_store)

from journey import segment_commands  # noqa: E402  (the `segments` group)

segment_commands.register(main, _report_store, _duration)

from journey import campaign_commands  # noqa: E402  (the `campaigns` group)

campaign_commands.register(main, _report_store)

from journey import alert_commands  # noqa: E402  (the `alerts` group)

alert_commands.register(main, _report_store, _settings, _duration, _date)

from journey import api_commands  # noqa: E402  (the `tokens` group and `api`)

api_commands.register(main, _settings, _report_store)

from journey import privacy_commands  # noqa: E402  (the `privacy` group)

privacy_commands.register(main, _settings, _report_store)


def _held_by_up(settings: Settings) -> bool:
    """True if `journey up` holds the embedded store (it writes its URL beside the data)."""
    return (settings.data_dir / "up.url").is_file()


def _local_api(settings: Settings, path: str) -> Any:
    from urllib.error import URLError
    from urllib.request import urlopen

    url = (settings.data_dir / "up.url").read_text().strip()
    try:
        with urlopen(url + path, timeout=60) as response:
            return json.load(response)
    except URLError as exc:
        raise click.ClickException(
            f"`journey up` should be serving {url} but is not ({exc.reason}); "
            f"if it is not running, remove {settings.data_dir / 'up.url'}"
        ) from None


def _summary_text(data: dict[str, Any]) -> str:
    """The summary report (analyzer.summary.report) as text tables."""
    from reports.output import render

    lines = [
        f"events: {data['events']} ({data['rows_stored']} rows stored, "
        f"{data['bot_events']} from bots)  visitors: {data['visitors']}  "
        f"identified users: {data['identified_users']}  revenue: {data['revenue']:,.2f}",
        "by type: " + ", ".join(f"{k} {v}" for k, v in data["by_type"].items()),
    ]
    for breakdown in ("utm_source", "device_type"):
        lines.append(f"\nshop funnel by {breakdown} (people, 7-day window):")
        lines.append(render(_funnel_rows(breakdown, data[f"funnel_by_{breakdown}"])))
    if data["stages"]:
        lines.append(
            "\nshop funnel, all people (identity-stitched, 7-day window), "
            "stage conversion and time to convert:"
        )
        lines.append(
            render(
                [
                    {
                        "step": r["event"],
                        "people": r["people"],
                        "dropped": r["dropped"],
                        "from start": r["conversion_from_start"],
                        "from previous": r["conversion_from_previous"],
                        "median time": duration_text(r["median_seconds_from_previous"]),
                        "p90 time": duration_text(r["p90_seconds_from_previous"]),
                    }
                    for r in data["stages"]
                ]
            )
        )
    return "\n".join(lines)


def _funnel_rows(breakdown: str, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for seg in segments:
        row: dict[str, Any] = {breakdown: seg["segment"], "people": seg["people"]}
        for step in seg["steps"]:
            row[step["step"]] = step["people"]
        row["conversion"] = seg["steps"][-1]["conversion_from_start"]
        rows.append(row)
    return rows


@main.group()
def keys() -> None:
    """Write keys: one per source (site, app, server)."""


def _key_store() -> Any:
    from collector.keys import open_keys

    settings = _settings()
    return open_keys(settings, _shared_store(settings))


def _shared_store(settings: Settings) -> Any:
    """Where keys and tokens are managed from the shell: the configured ClickHouse server,
    migrated (None with the embedded default: they are local files then)."""
    if settings.embedded:
        return None
    from storage import migrations

    store = _store(settings)
    migrations.apply(store)
    return store


@keys.command("create")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="A web origin allowed to send with this key (repeat; https://*.shop.example for "
    "subdomains). Without any, every origin may.",
)
def keys_create(name: str, origins: tuple[str, ...]) -> None:
    """Create a write key for source NAME and print it."""
    try:
        click.echo(_key_store().create(name, origins))
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
    from reports.output import render

    rows = [
        {
            "name": k.name,
            "key": k.key,
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


def run() -> None:
    """The console script: errors the user can act on as one line, never a traceback (-v shows it)."""
    from storage.store import StoreUnavailable

    verbose = "-v" in sys.argv[1:2] or "--verbose" in sys.argv[1:2]
    try:
        main(standalone_mode=True)
    except StoreUnavailable as exc:
        click.echo(f"Error: ClickHouse is unreachable: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a clear message
        if verbose:
            raise
        click.echo(
            f"Error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (run with -v for details)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    run()

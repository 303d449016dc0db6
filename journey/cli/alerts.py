"""`journey alerts define|list|show|check|run|backtest|history|drop`.

Rules are YAML or JSON files (alerts/rules.py). ``check`` evaluates once (for cron), ``run``
stays up and evaluates each rule every its ``every``; both notify and keep history, which
``history`` reads. ``backtest`` replays a rule over past data and sends nothing.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

import schemas
from alerts import catalog
from alerts.channels import Channels
from alerts.engine import Engine, backtest, deliveries, history
from alerts.rules import load
from core import metrics
from journey.cli.common import duration, moment, one_line, report_store, settings
from journey.cli.progress import finish, terminal
from journey.scheduler import Scheduler, alert_checks
from reports.alerts import listing
from reports.output import FORMAT, emit


def _evaluation_rows(evaluations: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for e in evaluations:
        if e.error:
            rows.append({"rule": e.rule, "scope": "", "outcome": "error", "reason": e.error})
        for s in e.scopes:
            rows.append(
                {
                    "rule": e.rule,
                    "scope": s.scope,
                    "outcome": s.verdict.outcome,
                    "state": s.step.state.state,
                    "notice": s.step.notice or (f"held: {s.step.held}" if s.step.held else ""),
                    "entered": s.verdict.current.entered,
                    "rate": s.verdict.current.rate,
                    "reason": s.verdict.reason,
                }
            )
    return rows


def define_file(store: Any, file: Path) -> dict[str, int]:

    with one_line():
        rules = load(file, allow_private=settings().alert_allow_private)
    return catalog.define(store, rules)


def engine(store: Any) -> Any:

    return Engine(store, Channels(settings()))


@click.group()
def alerts() -> None:
    """Alerts on funnel conversion: define rules, check, run, backtest, history."""


@alerts.command("define")
@click.argument("file", type=click.Path(path_type=Path))
def define_cmd(file: Path) -> None:
    """Validate FILE (YAML or JSON) and store its rules as new versions."""
    for name, version in define_file(report_store(), file).items():
        click.echo(f"{name}: version {version}")


@alerts.command("list")
@FORMAT
def list_cmd(fmt: str) -> None:
    """Defined rules with the state of each of their scopes."""
    rows = listing(report_store()).rows
    emit(rows, rows, fmt)


@alerts.command("show")
@click.argument("name")
def show_cmd(name: str) -> None:
    """The rule NAME as stored (JSON), with its version."""

    s = catalog.stored(report_store()).get(name)
    if s is None:
        raise click.ClickException(f"no alert rule {name!r} is defined")
    click.echo(json.dumps({"name": name, "version": s.version, "rule": s.rule.source}, indent=2))


@alerts.command("check")
@click.argument("names", nargs=-1)
@click.option("--file", "file", type=click.Path(path_type=Path), help="define these first")
@click.option("--at", "at", default=None, help="evaluate as of this moment (default: now)")
@FORMAT
def check_cmd(names: tuple[str, ...], file: Path | None, at: str | None, fmt: str) -> None:
    """Evaluate NAMES (default: every rule) once and notify: for cron."""
    store = report_store()
    if file is not None:
        define_file(store, file)
    when = moment(at, "--at") if at else None
    with one_line():
        evaluations = engine(store).check(list(names) or None, when)
    emit([e.as_dict() for e in evaluations], _evaluation_rows(evaluations), fmt)
    if any(e.error for e in evaluations):
        sys.exit(1)


@alerts.command("run")
@click.option("--file", "file", type=click.Path(path_type=Path), help="define these first")
@click.option("--tick", default="30s", show_default=True, help="how often to look for due rules")
def run_cmd(file: Path | None, tick: str) -> None:
    """Stay up and evaluate each rule every its `every`, until Ctrl-C or SIGTERM."""
    every = duration(tick, "--tick").total_seconds()  # refused before anything opens
    store = report_store()
    if file is not None:
        define_file(store, file)
    scheduler = Scheduler([alert_checks(store, settings())], every)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        scheduler.stop()
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    config = settings()
    metrics.serve(config.metrics_host, config.alerts_metrics_port, scheduler.readiness)
    click.echo(f"alerts: checking for due rules every {tick}", err=True)
    thread = threading.Thread(target=scheduler.run, name="alerts", daemon=True)
    thread.start()
    while not stop.wait(0.5):
        pass
    thread.join(60)


@alerts.command("backtest")
@click.argument("name")
@click.option("--since", required=True, help="first moment, e.g. 2024-05-01")
@click.option("--until", default=None, help="last moment (default: now)")
@click.option("--every", default=None, help="evaluate this often (default: the rule's)")
@FORMAT
def backtest_cmd(name: str, since: str, until: str | None, every: str | None, fmt: str) -> None:
    """When rule NAME would have fired and resolved over past data; nothing is sent."""

    start = moment(since, "--since")  # the options refused before anything opens
    end = moment(until, "--until") if until else datetime.now(UTC)
    step = duration(every, "--every") if every else None
    store = report_store()
    s = catalog.stored(store).get(name)
    if s is None:
        raise click.ClickException(f"no alert rule {name!r} is defined")
    progress = terminal(fmt)
    with one_line():
        replayed = backtest(store, s.rule, start, end, step, progress=progress)
    finish(progress)
    rows = [
        {
            "at": r.at.strftime("%Y-%m-%d %H:%M"),
            "scope": r.scope,
            "change": r.change,
            "notice": r.notice,
            "reason": r.reason,
        }
        for r in replayed
    ]
    emit([{**vars(r), "at": r.at.isoformat()} for r in replayed], rows, fmt)


@alerts.command("history")
@click.argument("name")
@click.option("--changes", is_flag=True, help="only state changes and notices")
@click.option("--deliveries", "show_deliveries", is_flag=True, help="the deliveries instead")
@click.option("--limit", default=100, show_default=True, type=int)
@FORMAT
def history_cmd(name: str, changes: bool, show_deliveries: bool, limit: int, fmt: str) -> None:
    """The evaluations of rule NAME, newest first (or its notices' deliveries)."""
    store = report_store()
    with one_line():
        rows = (
            deliveries(store, name, limit)
            if show_deliveries
            else history(store, name, limit, changes_only=changes)
        )
    emit(rows, rows, fmt)


@alerts.command("drop")
@click.argument("name")
def drop_cmd(name: str) -> None:
    """Stop evaluating rule NAME; its history is kept."""
    with one_line():
        catalog.drop(report_store(), name)
    click.echo(f"{name}: dropped")


@alerts.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of alert rule documents, for an editor to check them as you write
    (e.g. `# yaml-language-server: $schema=alerts.schema.json` atop the YAML file)."""
    click.echo(json.dumps(schemas.load(schemas.ALERT_DOCUMENT), indent=2))

"""`journey experiments define|list|show|stop|schema`.

Experiments are YAML or JSON files (analyzer/experiments/definition.py): tailored content per
segment against a random holdout, each defined by version.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

import schemas
from analyzer.experiments import catalog
from analyzer.experiments.definition import load
from journey.cli.common import one_line, report_store
from reports import experiments as shown
from reports.output import FORMAT, emit


@click.group()
def experiments() -> None:
    """Experiments: tailored content against a random holdout, per segment."""


@experiments.command("define")
@click.argument("file", type=click.Path(path_type=Path))
def define_cmd(file: Path) -> None:
    """Validate FILE (YAML or JSON) and store its experiments as new versions."""
    with one_line():
        found = load(file)
    for key, version in catalog.define(report_store(), found).items():
        click.echo(f"{key}: version {version}")


@experiments.command("list")
@FORMAT
def list_cmd(fmt: str) -> None:
    """Defined experiments: status, segments, variants and their weights, primary metric."""
    now = datetime.now(UTC)
    rows = [shown.row(s, now) for s in catalog.stored(report_store()).values()]
    emit(rows, rows, fmt)


@experiments.command("show")
@click.argument("key")
def show_cmd(key: str) -> None:
    """The experiment KEY as stored (JSON), with its version and status."""
    found = shown.one(report_store(), key)
    if found is None:
        raise click.ClickException(f"no experiment {key!r} is defined")
    click.echo(json.dumps(found, indent=2, default=str))


@experiments.command("stop")
@click.argument("key")
def stop_cmd(key: str) -> None:
    """End experiment KEY now (one not started yet is withdrawn); its exposures are kept."""
    with one_line():
        status = catalog.stop(report_store(), key)
    click.echo(f"{key}: {status}")


@experiments.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of experiment documents, for an editor to check them as you
    write (e.g. `# yaml-language-server: $schema=experiments.schema.json` atop the YAML)."""
    click.echo(json.dumps(schemas.load(schemas.EXPERIMENT_DOCUMENT), indent=2))

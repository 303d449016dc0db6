"""`journey touchpoints define|list|show|drop`: named touchpoint sets (analyzer.touchpoints).

A set is used wherever a report takes an event, as ``set:NAME``: ``journey report funnel
--step set:consideration --step "Order Completed"``, an alert rule's steps, a segment's ``did``.
"""

from __future__ import annotations

from pathlib import Path

import click

from analyzer import touchpoints as sets
from analyzer.documents import DocumentError
from journey.cli.common import report_store
from reports import touchpoints as shown
from reports.output import FORMAT, emit, json_text


@click.group()
def touchpoints() -> None:
    """Touchpoint sets: several events that reach one stage, used as set:NAME."""


@touchpoints.command("define")
@click.argument("file", type=click.Path(path_type=Path))
def define_cmd(file: Path) -> None:
    """Validate FILE (YAML or JSON) and store its sets as new versions."""
    try:
        loaded = sets.load(file)
    except DocumentError as exc:
        raise click.ClickException(str(exc)) from None
    for name, version in sets.define(report_store(), loaded).items():
        click.echo(f"{name}: version {version}")


@touchpoints.command("list")
@FORMAT
def list_cmd(fmt: str) -> None:
    """Defined sets: their touchpoints and latest version."""
    found = shown.listing(report_store())
    rows = [
        {
            "name": s["name"],
            "version": s["version"],
            "touchpoints": len(s["any_of"]),
            "description": s["description"],
        }
        for s in found
    ]
    emit({"touchpoints": found}, rows, fmt)


@touchpoints.command("show")
@click.argument("name")
def show_cmd(name: str) -> None:
    """The set NAME as stored (JSON), with its version."""
    found = shown.one(report_store(), name)
    if found is None:
        raise click.ClickException(f"no touchpoint set {name!r} is defined")
    click.echo(json_text(found))


@touchpoints.command("drop")
@click.argument("name")
def drop_cmd(name: str) -> None:
    """Retire NAME: reports naming it are refused from now on; its versions stay."""
    try:
        sets.drop(report_store(), name)
    except DocumentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: dropped")

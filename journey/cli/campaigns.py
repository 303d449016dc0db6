"""`journey campaigns import-spend FILE`: advertising spend for `journey report campaigns`."""

from __future__ import annotations

from pathlib import Path

import click

from journey.cli.common import report_store
from loader.csv_spend import SpendImportError, import_spend
from reports.output import rejected_rows


@click.group()
def campaigns() -> None:
    """Advertising spend per campaign, for campaign return."""


@campaigns.command("import-spend")
@click.argument("file", type=click.Path(path_type=Path))
def import_spend_cmd(file: Path) -> None:
    """Import a CSV of date, utm_source, [utm_medium, utm_campaign,] spend[, currency]."""
    try:
        result = import_spend(report_store(), file)
    except SpendImportError as exc:
        raise click.ClickException(str(exc)) from None
    currency = f" {result.currency}" if result.currency else ""
    click.echo(
        f"{result.rows - len(result.rejected)} of {result.rows} rows imported as "
        f"{result.imported} day-and-campaign figures{currency}"
    )
    rejected_rows(result.rejected, result.imported)

"""`journey campaigns import-spend FILE`: advertising spend for `journey report campaigns`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reports.output import rejected_rows


def register(main: click.Group, open_store: Callable[[], Any]) -> None:
    @main.group()
    def campaigns() -> None:
        """Advertising spend per campaign, for campaign return."""

    @campaigns.command("import-spend")
    @click.argument("file", type=click.Path(path_type=Path))
    def import_spend_cmd(file: Path) -> None:
        """Import a CSV of date, utm_source, [utm_medium, utm_campaign,] spend[, currency]."""
        from loader.csv_spend import SpendImportError, import_spend

        try:
            result = import_spend(open_store(), file)
        except SpendImportError as exc:
            raise click.ClickException(str(exc)) from None
        currency = f" {result.currency}" if result.currency else ""
        click.echo(
            f"{result.rows - len(result.rejected)} of {result.rows} rows imported as "
            f"{result.imported} day-and-campaign figures{currency}"
        )
        rejected_rows(result.rejected, result.imported)

    del campaigns, import_spend_cmd

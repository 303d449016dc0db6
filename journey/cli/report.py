"""`journey report summary|journey|funnel|paths|painpoints|retention|lifecycle|journey_map|trends|
web|correlation|scorecard|compare|campaigns`: the reports of reports.analyses from the shell.

The options of each analysis are built from its one declaration (reports.parameters), so the
CLI takes what the API takes, with the same defaults, ranges and error messages (naming the
option). Every command takes ``--since``/``--until`` (ISO dates; default the last 30 days) and
``--format table|json|csv|html``: JSON is the analyzer's result as it is (the shapes are in
the README); table and CSV are its main rows; HTML is a self-contained page with charts,
written to ``--output``. Steps are written ``NAME`` or ``NAME|FIELD OP VALUE|...`` with OP one
of ``=``, ``!=``, ``~`` (regular expression) and `` in `` (comma-separated values), e.g.
``'Product Viewed|page_path~^/product/'``.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import click

from analyzer.funnels.spec import SpecError
from analyzer.summary import report as summary_report
from journey.cli.common import held_by_up, local_api, report_store, settings, store
from reports import analyses, html, journey_report, summary
from reports.output import render
from reports.parameters import REPORT_PARAMS, Param
from reports.params import ParamError, Params
from storage import migrations
from storage.store import Store


@click.group()
def report() -> None:
    """Reports over the loaded events."""


@report.command("summary")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def summary_command(fmt: str) -> None:
    """What is loaded, the shop funnel by traffic source and device, and its stages."""
    config = settings()
    if config.embedded and held_by_up(config):
        data = local_api(config, "/api/summary")
    else:
        found = store(config)
        migrations.apply(found)  # an empty store reports zeros rather than a missing table
        data = summary_report(found)
    click.echo(json.dumps(data, indent=2, default=str) if fmt == "json" else summary.text(data))


def write_journey_report(store: Store, path: Path) -> Path:
    """The shop's journey report of what ``store`` holds, as an HTML page at ``path``."""
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
def journey_command(output: Path) -> None:
    """The shop's journey report (funnels, trend, paths, pain points, retention) as HTML."""
    click.echo(f"wrote {write_journey_report(report_store(), output)}")


class Declared(click.ParamType):
    """A value passed on as text to the report's reader, which checks it as the API does (one
    set of error messages); the name is what ``--help`` shows."""

    def __init__(self, kind: str) -> None:
        self.name = kind.upper() if kind in ("integer", "number", "date") else "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


def option(param: Param) -> click.Option:
    """The CLI option of a declared report parameter."""
    if param.kind == "flag":
        return click.Option([param.option, param.name], is_flag=True, help=param.help)
    return click.Option(
        [param.option, param.name],
        type=click.Choice(param.choices) if param.choices else Declared(param.kind),
        multiple=param.many,
        required=param.required,
        default=None,  # the reader applies the declared default: only what is given passes
        help=param.help if param.default is None else f"{param.help}  [default: {param.default}]",
    )


def _show(kind: str, /, fmt: str, output: Path | None, **given: Any) -> None:
    """Run report ``kind`` with the options ``given`` (paths has its own ``kind``) and print
    it, or write it as HTML; errors name the option."""
    if kind == "funnel" and given.get("dropped_at") is not None:
        given["limit"] = 100_000  # everyone who dropped, not the API's page of them
    try:
        result = analyses.run(report_store(), kind, Params.of(**given))
    except ParamError as exc:
        name = "--" + exc.name.replace("_", "-")
        raise click.ClickException(
            f"invalid report: {name}: {str(exc)[len(exc.name) + 2 :]}"
        ) from None
    except SpecError as exc:
        raise click.ClickException(f"invalid report: {exc}") from None
    if fmt == "html":
        path = output or Path(f"journey-{kind}.html")
        path.write_text(html.page(result.title, [result]), encoding="utf-8")
        click.echo(f"wrote {path.resolve()}")
    elif fmt == "json":
        click.echo(json.dumps(result.data, indent=2, default=str))
    else:
        click.echo(render(result.rows, fmt) if result.rows else "(nothing)")
    if fmt == "table" and result.kind == "funnel" and result.data["excluded"]:
        click.echo(f"\n{result.data['excluded']} people excluded by the exclusion steps")


FORMAT = click.Option(
    ["--format", "fmt"],
    type=click.Choice(["table", "json", "csv", "html"]),
    default="table",
    show_default=True,
)
OUTPUT = click.Option(
    ["--output"],
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="with --format html: the file to write (default journey-REPORT.html)",
)

for _kind in analyses.REPORTS:
    _params: list[click.Parameter] = [option(p) for p in REPORT_PARAMS[_kind] if p.cli]
    report.add_command(
        click.Command(
            _kind,
            callback=partial(_show, _kind),
            params=[*_params, FORMAT, OUTPUT],
            help=analyses.REPORTS[_kind].__doc__,
        )
    )

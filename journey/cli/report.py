"""`journey report summary|journey|funnel|paths|painpoints|retention|lifecycle|journey_map|trends|
web|correlation|scorecard|compare|campaigns`: the reports of reports.analyses from the shell.

The options of each analysis are built from its one declaration (reports.parameters), so the
CLI takes what the API takes, with the same defaults, ranges and error messages (naming the
option). Every command takes ``--since``/``--until`` (ISO dates; default the last 30 days) and
``--format table|json|csv|html``: JSON is the analyzer's result as it is (the shapes are in
the documentation's analyses page); table and CSV are its main rows; HTML is a self-contained page with charts,
written to ``--output``. Steps are written ``NAME`` or ``NAME|FIELD OP VALUE|...`` with OP one
of ``=``, ``!=``, ``~`` (regular expression) and `` in `` (comma-separated values), e.g.
``'Product Viewed|page_path~^/product/'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import click

from analyzer.errors import SpecError
from analyzer.summary import report as summary_report
from core.settings import Settings
from journey.cli.common import (
    LocalRefusal,
    held_by_up,
    local_api,
    report_store,
    settings,
    store,
)
from reports import analyses, html, journey_report, summary
from reports.output import json_text, render
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
    click.echo(json_text(data) if fmt == "json" else summary.text(data))


def write_journey_report(store: Store, path: Path) -> Path:
    """The shop's journey report of what ``store`` holds, as an HTML page at ``path``."""
    period = journey_report.period_of(store)
    if period is None:
        raise click.ClickException("no events loaded: nothing to report")
    results = journey_report.results(store, *period)
    return _write(path, html.page("Journey report", results))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
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
    config = settings()
    if config.embedded and held_by_up(config):
        try:
            page = local_api(config, "/api/journey-report", raw=True)
        except LocalRefusal as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"wrote {_write(output, page)}")
        return
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
    it, or write it as HTML; errors name the option (a usage error: exit 2), warnings go to
    stderr. While `journey up` holds the embedded store, the running stack computes it."""
    if kind == "funnel" and given.get("dropped_at") is not None:
        given["limit"] = 100_000  # everyone who dropped, not the API's page of them
    params = Params.of(**given)
    config = settings()
    try:
        if config.embedded and held_by_up(config):
            shown = _from_stack(config, kind, params, fmt)
        else:
            shown = _computed(kind, params, fmt)
    except ParamError as exc:  # an option's value: a usage error (exit 2)
        raise _usage(exc.name, exc.message) from None
    except LocalRefusal as exc:
        if exc.parameter:
            raise _usage(exc.parameter, exc.message) from None
        raise click.ClickException(f"invalid report: {exc.message}") from None
    except SpecError as exc:  # what no single option names (a document, a file)
        raise click.ClickException(f"invalid report: {exc}") from None
    for warning in shown.warnings:
        click.echo(f"warning: {warning['message']}", err=True)
    if fmt == "html":
        click.echo(f"wrote {_write(output or Path(f'journey-{kind}.html'), shown.page)}")
    elif fmt == "json":
        click.echo(json_text(shown.data))
    else:
        click.echo(render(shown.rows, fmt) if shown.rows else "(nothing)")
    if fmt == "table" and shown.kind == "funnel" and shown.data["excluded"]:
        click.echo(f"\n{shown.data['excluded']} people excluded by the exclusion steps")


def _usage(parameter: str, message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="--" + parameter.replace("_", "-"))


@dataclass
class Shown:
    """A report as the CLI prints it, whether computed here or by the running stack."""

    kind: str
    data: Any
    rows: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    page: str = ""  # the HTML page, when asked for


def _computed(kind: str, params: Params, fmt: str) -> Shown:
    result = analyses.run(report_store(), kind, params, longest_days=settings().longest_range_days)
    page = html.page(result.title, [result]) if fmt == "html" else ""
    return Shown(result.kind, result.data, result.rows, result.warnings, page)


def _from_stack(config: Settings, kind: str, params: Params, fmt: str) -> Shown:
    query = params.as_dict()
    if fmt == "html":
        page = local_api(config, f"/api/reports/{kind}", {**query, "format": ["html"]}, raw=True)
        return Shown(kind, None, [], [], page)
    got = local_api(config, f"/api/reports/{kind}", query)
    return Shown(got["kind"], got["data"], got["rows"], got["warnings"])


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

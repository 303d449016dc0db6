"""`journey report funnel|paths|painpoints|retention|lifecycle|scorecard|compare|campaigns`: the reports of
reports.analyses from the shell.

Every command takes ``--since``/``--until`` (ISO dates; default the last 30 days) and
``--format table|json|csv|html``. JSON is the analyzer's result as it is (the shapes are in the
README); table and CSV are its main rows; HTML is a self-contained page with charts, written
to ``--output``. Steps are written ``NAME`` or ``NAME|FIELD OP VALUE|...`` with OP one of
``=``, ``!=``, ``~`` (regular expression) and `` in `` (comma-separated values), e.g.
``'Product Viewed|page_path~^/product/'``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from analyzer.funnels.spec import SpecError
from reports.output import format_option, render
from reports.params import ParamError, Params

FORMAT = format_option("table", "json", "csv", "html")
OUTPUT = click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="with --format html: the file to write (default journey-REPORT.html)",
)


def show(store: Any, kind: str, params: Params, fmt: str, output: Path | None) -> None:
    """Run report ``kind`` and print it, or write it as HTML; errors name the option."""
    from reports import analyses, html

    try:
        result = analyses.run(store, kind, params)
    except ParamError as exc:
        option = "--" + exc.name.replace("_", "-")
        raise click.ClickException(
            f"invalid report: {option}: {str(exc)[len(exc.name) + 2 :]}"
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


def register(report: click.Group, open_store: Callable[[], Any]) -> None:
    since_opt = click.option("--since", default=None, help="first day (default: 30 days ago)")
    bots_opt = click.option(
        "--include-bots",
        is_flag=True,
        help="count bots too (crawlers, headless browsers, scripts; left out by default)",
    )
    until_opt = click.option("--until", default=None, help="day after the last (default: tomorrow)")
    steps_opt = click.option(
        "--step",
        multiple=True,
        required=True,
        help="a step, in order: NAME[|FIELD OP VALUE]",
    )
    window_opt = click.option("--window", default="7d", show_default=True, help="30m, 12h, 7d")
    mode_opt = click.option(
        "--mode",
        type=click.Choice(["ordered", "strict", "any"]),
        default="ordered",
        show_default=True,
    )
    period_opt = click.option(
        "--period",
        type=click.Choice(["day", "week", "month"]),
        default="week",
        show_default=True,
    )
    in_segment_opt = click.option(
        "--in-segment", default=None, help="only the members of this segment (or NAME/GROUP)"
    )
    exclude_opt = click.option(
        "--exclude", multiple=True, help="an exclusion step: NAME[|filters][@A-B]"
    )

    @report.command("funnel")
    @steps_opt
    @window_opt
    @mode_opt
    @exclude_opt
    @click.option(
        "--breakdown",
        default=None,
        help="a column, properties.KEY, person.TRAIT, or segment:NAME[,NAME...]",
    )
    @in_segment_opt
    @click.option(
        "--attribution",
        default="first_touch",
        show_default=True,
        help="first_touch, last_touch or step:N",
    )
    @click.option("--trend", type=click.Choice(["day", "week"]), default=None)
    @click.option("--dropped-at", type=int, default=None, help="list who dropped after step N")
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def funnel(fmt: str, output: Path | None, **given: Any) -> None:
        """Stage conversion, drop-off and time to convert over identity-stitched people."""
        if given["dropped_at"] is not None:
            given["limit"] = 100_000  # everyone who dropped, not a page of them
        show(open_store(), "funnel", Params.of(**given), fmt, output)

    @report.command("paths")
    @click.option(
        "--kind", type=click.Choice(["page", "event", "all"]), default="all", show_default=True
    )
    @click.option("--start", default=None, help="paths from this page or event")
    @click.option("--end", default=None, help="paths to this page or event")
    @click.option("--max-length", type=int, default=5, show_default=True)
    @click.option("--clean", multiple=True, help="REGEX=ALIAS, e.g. '/product/\\d+=/product/:id'")
    @click.option("--top", type=int, default=20, show_default=True)
    @click.option("--session-timeout", type=int, default=30, show_default=True, help="minutes")
    @click.option("--step", multiple=True, help="with --dropped-at: the funnel's steps")
    @click.option("--dropped-at", type=int, default=None, help="paths after dropping off step N")
    @in_segment_opt
    @window_opt
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def paths(fmt: str, output: Path | None, **given: Any) -> None:
        """Top paths per session (or after a funnel drop-off) and Sankey edges."""
        show(open_store(), "paths", Params.of(**given), fmt, output)

    @report.command("painpoints")
    @steps_opt
    @window_opt
    @mode_opt
    @exclude_opt
    @click.option(
        "--segment",
        required=True,
        help="FIELD=VALUE, e.g. utm_source=facebook, or segment=NAME for a defined segment",
    )
    @click.option("--min-sample", type=int, default=30, show_default=True)
    @click.option("--error-pattern", default=r"(?i)error|fail|exception", show_default=True)
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def painpoints(fmt: str, output: Path | None, **given: Any) -> None:
        """The funnel's stages ranked by the segment's drop-off, each with its evidence."""
        show(open_store(), "painpoints", Params.of(**given), fmt, output)

    @report.command("retention")
    @click.option("--start-event", required=True, help="the cohort's event: NAME[|filters]")
    @click.option("--return-event", required=True, help="the returning event: NAME[|filters]")
    @period_opt
    @click.option("--periods", type=int, default=8, show_default=True)
    @click.option(
        "--mode",
        type=click.Choice(["first_time", "recurring"]),
        default="first_time",
        show_default=True,
    )
    @in_segment_opt
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def retention(fmt: str, output: Path | None, **given: Any) -> None:
        """Cohort retention: who came back in each period after their start event."""
        show(open_store(), "retention", Params.of(**given), fmt, output)

    @report.command("lifecycle")
    @click.option("--event", required=True, help="NAME[|filters]")
    @period_opt
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def lifecycle(fmt: str, output: Path | None, **given: Any) -> None:
        """New, returning, resurrecting and dormant people per period."""
        show(open_store(), "lifecycle", Params.of(**given), fmt, output)

    def scorecard_options(command: Callable[..., None]) -> Callable[..., None]:
        options = [
            click.option(
                "--segment",
                multiple=True,
                help="a segment (NAME or NAME/GROUP); default every refreshed one",
            ),
            click.option("--step", multiple=True, help="a funnel step to score conversion"),
            window_opt,
            mode_opt,
            click.option("--purchase-event", default="Order Completed", show_default=True),
            click.option("--revenue-property", default="revenue", show_default=True),
            click.option("--retention-days", type=int, default=7, show_default=True),
            click.option("--session-timeout", type=int, default=30, show_default=True),
            click.option("--csat-event", default=None, help="survey answer event with a score"),
            click.option("--csat-property", default="score", show_default=True),
            click.option("--csat-trait", default=None, help="or: the trait holding the score"),
            click.option("--satisfied-at", default="4", show_default=True),
            since_opt,
            bots_opt,
            until_opt,
            FORMAT,
            OUTPUT,
        ]
        for option in reversed(options):
            command = option(command)
        return command

    @report.command("scorecard")
    @scorecard_options
    def scorecard(fmt: str, output: Path | None, **given: Any) -> None:
        """Per segment: funnel conversion, engagement, retention, revenue and satisfaction."""
        show(open_store(), "scorecard", Params.of(**given), fmt, output)

    @report.command("compare")
    @scorecard_options
    @click.option("--before-since", required=True, help="first day of the earlier period")
    @click.option("--before-until", required=True, help="the day after the earlier period")
    @click.option("--min-sample", type=int, default=30, show_default=True)
    def compare(fmt: str, output: Path | None, **given: Any) -> None:
        """A period's scorecard against an earlier one: each change with its 95% interval."""
        show(open_store(), "compare", Params.of(**given), fmt, output)

    @report.command("campaigns")
    @click.option("--segment", multiple=True, help="a segment to split by (NAME or NAME/GROUP)")
    @click.option("--purchase-event", default="Order Completed", show_default=True)
    @click.option("--revenue-property", default="revenue", show_default=True)
    @click.option("--lookback-days", type=int, default=30, show_default=True)
    @since_opt
    @bots_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def campaigns(fmt: str, output: Path | None, **given: Any) -> None:
        """Spend (journey campaigns import-spend) against first- and last-touch revenue."""
        show(open_store(), "campaigns", Params.of(**given), fmt, output)

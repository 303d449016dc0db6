"""`journey report funnel|paths|painpoints|retention|lifecycle`: the reports of
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
from journey.output import format_option, render
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
    until_opt = click.option("--until", default=None, help="day after the last (default: tomorrow)")
    steps_opt = click.option(
        "--step",
        "steps",
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
        "period_name",
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
    @until_opt
    @FORMAT
    @OUTPUT
    def funnel(
        steps: tuple[str, ...],
        window: str,
        mode: str,
        exclude: tuple[str, ...],
        breakdown: str | None,
        attribution: str,
        trend: str | None,
        dropped_at: int | None,
        in_segment: str | None,
        since: str | None,
        until: str | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """Stage conversion, drop-off and time to convert over identity-stitched people."""
        params = Params.of(
            step=steps,
            window=window,
            mode=mode,
            exclude=exclude,
            breakdown=breakdown,
            attribution=attribution,
            trend=trend,
            dropped_at=dropped_at,
            limit=100_000 if dropped_at is not None else None,
            in_segment=in_segment,
            since=since,
            until=until,
        )
        show(open_store(), "funnel", params, fmt, output)

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
    @click.option("--step", "steps", multiple=True, help="with --dropped-at: the funnel's steps")
    @click.option("--dropped-at", type=int, default=None, help="paths after dropping off step N")
    @in_segment_opt
    @window_opt
    @since_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def paths(
        kind: str,
        start: str | None,
        end: str | None,
        max_length: int,
        clean: tuple[str, ...],
        top: int,
        session_timeout: int,
        steps: tuple[str, ...],
        dropped_at: int | None,
        in_segment: str | None,
        window: str,
        since: str | None,
        until: str | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """Top paths per session (or after a funnel drop-off) and Sankey edges."""
        params = Params.of(
            kind=kind,
            start=start,
            end=end,
            max_length=max_length,
            clean=clean,
            top=top,
            session_timeout=session_timeout,
            step=steps,
            dropped_at=dropped_at,
            in_segment=in_segment,
            window=window,
            since=since,
            until=until,
        )
        show(open_store(), "paths", params, fmt, output)

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
    @until_opt
    @FORMAT
    @OUTPUT
    def painpoints(
        steps: tuple[str, ...],
        window: str,
        mode: str,
        exclude: tuple[str, ...],
        segment: str,
        min_sample: int,
        error_pattern: str,
        since: str | None,
        until: str | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """The funnel's stages ranked by the segment's drop-off, each with its evidence."""
        params = Params.of(
            step=steps,
            window=window,
            mode=mode,
            exclude=exclude,
            segment=segment,
            min_sample=min_sample,
            error_pattern=error_pattern,
            since=since,
            until=until,
        )
        show(open_store(), "painpoints", params, fmt, output)

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
    @until_opt
    @FORMAT
    @OUTPUT
    def retention(
        start_event: str,
        return_event: str,
        period_name: str,
        periods: int,
        mode: str,
        in_segment: str | None,
        since: str | None,
        until: str | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """Cohort retention: who came back in each period after their start event."""
        params = Params.of(
            start_event=start_event,
            return_event=return_event,
            period=period_name,
            periods=periods,
            mode=mode,
            in_segment=in_segment,
            since=since,
            until=until,
        )
        show(open_store(), "retention", params, fmt, output)

    @report.command("lifecycle")
    @click.option("--event", required=True, help="NAME[|filters]")
    @period_opt
    @since_opt
    @until_opt
    @FORMAT
    @OUTPUT
    def lifecycle(
        event: str,
        period_name: str,
        since: str | None,
        until: str | None,
        fmt: str,
        output: Path | None,
    ) -> None:
        """New, returning, resurrecting and dormant people per period."""
        params = Params.of(event=event, period=period_name, since=since, until=until)
        show(open_store(), "lifecycle", params, fmt, output)

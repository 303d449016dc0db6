"""`journey report funnel|paths|painpoints|retention|lifecycle`: the analyzer from the shell.

Every command takes ``--since``/``--until`` (ISO dates; default the last 30 days) and
``--format table|json|csv``. JSON is the analyzer's result as it is (the shapes are in the
README); table and CSV are its main rows. Steps are written ``NAME`` or
``NAME|FIELD OP VALUE|...`` with OP one of ``=``, ``!=``, ``~`` (regular expression) and
`` in `` (comma-separated values), e.g. ``'Product Viewed|page_path~^/product/'``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from analyzer.funnels.spec import Breakdown, Exclusion, Filter, FunnelSpec, SpecError, Step
from journey.output import render

_FILTER = re.compile(r"^\s*(?P<field>[\w.\-]+)\s*(?P<op>!=|=|~| in )\s*(?P<value>.*)$")
_OPS = {"=": "eq", "!=": "neq", "~": "match", " in ": "in"}
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)


def parse_step(text: str, option: str = "--step") -> Step:
    """``NAME`` or ``NAME|FIELD OP VALUE|...``."""
    name, *filters = text.split("|")
    parsed = []
    for raw in filters:
        m = _FILTER.match(raw)
        if not m:
            raise click.BadParameter(
                f"{raw!r} is not FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD in A,B",
                param_hint=option,
            )
        op = _OPS[m["op"]]
        value: Any = [v.strip() for v in m["value"].split(",")] if op == "in" else m["value"]
        parsed.append(Filter(m["field"], op, value))
    return Step(name.strip(), tuple(parsed))


def _exclusion(text: str) -> Exclusion:
    """``STEP`` or ``STEP@A-B`` (between funnel steps A and B)."""
    step, _, between = text.partition("@")
    if not between:
        return Exclusion(parse_step(step, "--exclude"))
    m = re.fullmatch(r"(\d+)-(\d+)", between)
    if not m:
        raise click.BadParameter(f"{between!r} is not A-B (step numbers)", param_hint="--exclude")
    return Exclusion(parse_step(step, "--exclude"), int(m[1]), int(m[2]))


def _breakdown(field: str | None, attribution: str) -> Breakdown | None:
    if not field:
        return None
    if field.startswith("segment:"):
        names = tuple(n.strip() for n in field[8:].split(",") if n.strip())
        return Breakdown("segment", segments=names)
    if attribution.startswith("step:"):
        number = attribution[5:]
        if not number.isdigit():
            raise click.BadParameter("step:N takes a step number", param_hint="--attribution")
        return Breakdown(field, "step", int(number))
    return Breakdown(field, attribution)


@contextmanager
def _spec_errors() -> Iterator[None]:
    """A spec the analyzer refuses becomes one line naming the field, not a traceback."""
    try:
        yield
    except SpecError as exc:
        raise click.ClickException(f"invalid report: {exc}") from None


def _show(result: Any, rows: list[dict[str, Any]], fmt: str) -> None:
    """JSON is the whole result; table and CSV its main rows."""
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo(render(rows, fmt))


def register(
    report: click.Group,
    open_store: Callable[[], Any],
    duration: Callable[[str, str], timedelta],
    date: Callable[[str, str], datetime],
) -> None:
    def period(since: str | None, until: str | None) -> tuple[datetime, datetime]:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return (
            date(since, "--since") if since else today - timedelta(days=30),
            date(until, "--until") if until else today + timedelta(days=1),
        )

    def funnel_spec(
        steps: tuple[str, ...],
        window: str,
        mode: str,
        exclude: tuple[str, ...],
        since: str | None,
        until: str | None,
        breakdown: Breakdown | None = None,
        segment: str | None = None,
    ) -> FunnelSpec:
        date_from, date_to = period(since, until)
        spec = FunnelSpec(
            steps=tuple(parse_step(s) for s in steps),
            window=duration(window, "--window"),
            date_from=date_from,
            date_to=date_to,
            mode=mode,
            exclusions=tuple(_exclusion(e) for e in exclude),
            breakdown=breakdown,
            segment=segment,
        )
        with _spec_errors():
            return spec.validate()

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
    ) -> None:
        """Stage conversion, drop-off and time to convert over identity-stitched people."""
        from analyzer.funnels import analyze, dropped
        from analyzer.funnels import trend as funnel_trend

        spec = funnel_spec(
            steps,
            window,
            mode,
            exclude,
            since,
            until,
            _breakdown(breakdown, attribution),
            in_segment,
        )
        store = open_store()
        with _spec_errors():
            if dropped_at is not None:
                people = [asdict(p) for p in dropped(store, spec, dropped_at, limit=100_000)]
                _show(people, people, fmt)
                return
            if trend:
                points = [asdict(p) for p in funnel_trend(store, spec, trend)]
                _show(points, points, fmt)
                return
            result = analyze(store, spec)
        rows = [{"segment": "(all)", **asdict(r)} for r in result.steps]
        rows += [{"segment": g.value, **asdict(r)} for g in result.breakdown for r in g.steps]
        _show(result.as_dict(), rows, fmt)
        if fmt == "table" and result.excluded:
            click.echo(f"\n{result.excluded} people excluded by the exclusion steps")

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
    ) -> None:
        """Top paths per session (or after a funnel drop-off) and Sankey edges."""
        from analyzer.paths import PathSpec
        from analyzer.paths import report as paths_report

        rules = []
        for rule in clean:
            pattern, sep, alias = rule.rpartition("=")
            if not sep or not pattern:
                raise click.BadParameter(f"{rule!r} is not REGEX=ALIAS", param_hint="--clean")
            rules.append((pattern, alias))
        date_from, date_to = period(since, until)
        funnel = (
            funnel_spec(steps, window, "ordered", (), since, until, segment=in_segment)
            if dropped_at is not None
            else None
        )
        spec = PathSpec(
            date_from=date_from,
            date_to=date_to,
            kind=kind,
            start=start,
            end=end,
            max_length=max_length,
            cleaning=tuple(rules),
            session_timeout=session_timeout,
            top=top,
            funnel=funnel,
            dropped_at=dropped_at,
            segment=in_segment if funnel is None else None,
        )
        with _spec_errors():
            spec.validate()
            result = paths_report(open_store(), spec)
        rows = [
            {"path": " > ".join(p.steps), "count": p.count, "share": p.share} for p in result.paths
        ]
        _show(result.as_dict(), rows, fmt)

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
    ) -> None:
        """The funnel's stages ranked by the segment's drop-off, each with its evidence."""
        from analyzer.painpoints import PainPointSpec
        from analyzer.painpoints import painpoints as find

        field, sep, value = segment.partition("=")
        if not sep:
            raise click.BadParameter(f"{segment!r} is not FIELD=VALUE", param_hint="--segment")
        spec = PainPointSpec(
            funnel_spec(steps, window, mode, exclude, since, until),
            field.strip(),
            value,
            min_sample=min_sample,
            error_pattern=error_pattern,
        )
        with _spec_errors():
            result = find(open_store(), spec)
        rows = [
            {
                "rank": i + 1 if p.ranked else "-",
                "stage": f"{p.from_event} > {p.to_event}",
                "entered": p.entered,
                "dropped": p.dropped,
                "drop_rate": p.drop_rate,
                "others_drop_rate": p.others.drop_rate if p.others else None,
                "excess_dropped": round(p.excess_dropped, 1),
                "evidence": "; ".join(p.reasons),
            }
            for i, p in enumerate(result.stages)
        ]
        _show(result.as_dict(), rows, fmt)

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
    ) -> None:
        """Cohort retention: who came back in each period after their start event."""
        from analyzer.retention import RetentionSpec
        from analyzer.retention import retention as compute

        date_from, date_to = period(since, until)
        spec = RetentionSpec(
            parse_step(start_event, "--start-event"),
            parse_step(return_event, "--return-event"),
            date_from,
            date_to,
            period=period_name,
            periods=periods,
            mode=mode,
            segment=in_segment,
        )
        with _spec_errors():
            result = compute(open_store(), spec)
        rows = [
            {
                "cohort": c.period.isoformat(),
                "people": c.people,
                **{f"p{i}": r for i, r in enumerate(c.retained)},
            }
            for c in result.cohorts
        ]
        _show(result.as_dict(), rows, fmt)

    @report.command("lifecycle")
    @click.option("--event", required=True, help="NAME[|filters]")
    @period_opt
    @since_opt
    @until_opt
    @FORMAT
    def lifecycle(
        event: str, period_name: str, since: str | None, until: str | None, fmt: str
    ) -> None:
        """New, returning, resurrecting and dormant people per period."""
        from analyzer.retention import lifecycle as compute

        date_from, date_to = period(since, until)
        with _spec_errors():
            found = compute(
                open_store(), parse_step(event, "--event"), date_from, date_to, period_name
            )
        rows = [asdict(r) for r in found]
        _show(rows, rows, fmt)

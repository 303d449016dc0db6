"""The journey reports by name (funnel, paths, painpoints, retention, lifecycle, and the
scorecard's: scorecard, compare, campaigns): each reads its
parameters (reports.params), runs the analyzer and returns a ``Result``. The CLI, the HTTP API,
the dashboard, saved reports and the HTML writer all go through here, so a report means the
same thing wherever it is asked for.

The JSON of each result is the analyzer's own (documented in docs/explanation/analyses.md and in the API's
OpenAPI description); ``rows`` are its main table, for CSV and the terminal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from analyzer import touchpoints
from analyzer.errors import SpecError
from analyzer.events import first_seen
from analyzer.funnels.spec import FunnelSpec
from analyzer.parameters import names
from analyzer.unseen import Unseen, unseen
from analyzer.vocabulary import Step
from reports.parameters import SPECS
from reports.params import ParamError, Params
from reports.result import Result, as_param, checked
from storage.store import Store


class NotFound(LookupError):
    """What a request names does not exist: a segment, an alert rule, a saved report."""


def _funnel_spec(p: Params, today: datetime | None, breakdown: bool = True) -> FunnelSpec:
    since, until = p.period(today)
    window = p.duration("window")
    mode = p.choice("mode")
    spec = FunnelSpec(
        steps=p.steps(),
        window=window,
        date_from=since,
        date_to=until,
        mode=mode,
        exclusions=p.exclusions(),
        breakdown=p.breakdown() if breakdown else None,
        segment=p.one("in_segment"),
        include_bots=p.flag("include_bots"),
        hold=p.one("hold"),
        session_timeout=p.integer("session_timeout"),
        gaps=p.gaps(),
    )
    return checked(spec)


def _title(steps: tuple[Any, ...]) -> str:
    return " > ".join(s.event for s in steps)


def funnel(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Stage conversion, drop-off and time to convert; ``trend=day|week`` for conversion by
    the period people entered, ``dropped_at=N`` for who dropped after step N."""
    from analyzer.funnels import analyze, dropped
    from analyzer.funnels import trend as funnel_trend

    trend = p.optional_choice("trend")
    dropped_at = p.optional_integer("dropped_at")
    limit = p.integer("limit")
    offset = p.integer("offset")
    spec = _funnel_spec(p, today)
    p.done()
    title = f"Funnel: {_title(spec.steps)}"
    if spec.hold is not None:
        title += ", each in one session" if spec.hold == "session" else f", holding {spec.hold}"
    if dropped_at is not None:
        people = [asdict(x) for x in dropped(store, spec, dropped_at, limit, offset)]
        return Result("funnel_dropped", f"{title}, dropped after step {dropped_at}", people, people)
    if trend:
        points = [asdict(x) for x in funnel_trend(store, spec, trend)]
        return Result("funnel_trend", f"{title}, conversion by {trend}", points, points)
    report = analyze(store, spec)
    rows = [{"segment": "(all)", **asdict(r)} for r in report.steps]
    rows += [{"segment": g.value, **asdict(r)} for g in report.breakdown for r in g.steps]
    if spec.breakdown is not None:
        title += f", by {' and '.join(spec.breakdown.fields)}"
        if spec.breakdown.segments:
            title += " " + ", ".join(spec.breakdown.segments)
    return Result("funnel", title, report.as_dict(), rows)


def paths(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Top paths per session (or after dropping off a funnel step) and Sankey edges."""
    from analyzer.paths import PathSpec
    from analyzer.paths import report as paths_report

    rules = _cleaning(p)
    dropped_at = p.optional_integer("dropped_at")
    segment = p.one("in_segment")
    funnel_spec = None
    if dropped_at is not None:
        funnel_spec = _funnel_spec(p, today, breakdown=False)
    else:
        if p.steps():
            raise ParamError("step", "give steps with dropped_at (paths after a drop-off)")
        p.duration("window")  # the funnel's window; checked, unused without dropped_at
    since, until = p.period(today)
    kind = p.choice("kind")
    start, start_step = p.element_or_set("start")
    end, end_step = p.element_or_set("end")
    spec = PathSpec(
        date_from=since,
        date_to=until,
        kind=kind,
        start=start,
        end=end,
        start_step=start_step,
        end_step=end_step,
        max_length=p.integer("max_length"),
        cleaning=rules,
        session_timeout=p.integer("session_timeout"),
        top=p.integer("top"),
        funnel=funnel_spec,
        dropped_at=dropped_at,
        segment=segment if funnel_spec is None else None,
        include_bots=p.flag("include_bots"),
        converted=p.flag("converted"),
    )
    p.done()
    result = paths_report(store, checked(spec))
    rows = [{"path": " > ".join(x.steps), "count": x.count, "share": x.share} for x in result.paths]
    first = spec.start or (spec.start_step.event if spec.start_step else None)
    last = spec.end or (spec.end_step.event if spec.end_step else None)
    where = f" from {first}" if first else f" to {last}" if last else ""
    if funnel_spec is not None and dropped_at is not None:
        steps = funnel_spec.steps
        where = f" after dropping off {steps[dropped_at - 1].event}"
        if spec.converted:
            where = f" from {steps[dropped_at - 1].event} to {steps[dropped_at].event}"
    return Result("paths", f"Top paths{where}", result.as_dict(), rows)


def painpoints(store: Store, p: Params, today: datetime | None = None) -> Result:
    """The funnel's stages ranked by the segment's drop-off, each with its evidence."""
    from analyzer.painpoints import PainPointSpec
    from analyzer.painpoints import painpoints as find

    segment = p.one("segment") or ""
    name, sep, value = segment.partition("=")
    if not sep or not name.strip():
        raise ParamError("segment", f"{segment!r} is not FIELD=VALUE (or segment=NAME)")
    min_sample = p.integer("min_sample")
    error_pattern = p.one("error_pattern") or ""
    spec = PainPointSpec(
        _funnel_spec(p, today, breakdown=False),
        name.strip(),
        value,
        min_sample=min_sample,
        error_pattern=error_pattern,
    )
    p.done()
    result = find(store, checked(spec))
    rows = [
        {
            "rank": i + 1 if x.ranked else "-",
            "stage": f"{x.from_event} > {x.to_event}",
            "entered": x.entered,
            "dropped": x.dropped,
            "drop_rate": x.drop_rate,
            "others_drop_rate": x.others.drop_rate if x.others else None,
            "excess_dropped": round(x.excess_dropped, 1),
            "evidence": "; ".join(x.reasons),
        }
        for i, x in enumerate(result.stages)
    ]
    title = f"Pain points of {segment}: {_title(spec.funnel.steps)}"
    return Result("painpoints", title, result.as_dict(), rows)


def retention(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Cohort retention: who came back in each period after their start event."""
    from analyzer.retention import RetentionSpec
    from analyzer.retention import retention as compute

    start = p.step("start_event")
    returning = p.step("return_event")
    since, until = p.period(today)
    spec = RetentionSpec(
        start,
        returning,
        since,
        until,
        period=p.choice("period"),
        periods=p.integer("periods"),
        mode=p.choice("mode"),
        segment=p.one("in_segment"),
        include_bots=p.flag("include_bots"),
        measure=p.choice("measure"),
        property=p.one("property"),
    )
    p.done()
    result = compute(store, checked(spec))
    rows = [
        {
            "cohort": c.period.isoformat(),
            "people": c.people,
            **{f"p{i}": r for i, r in enumerate(c.retained)},
            **{f"sum{i}": s for i, s in enumerate(c.sums or [])},
        }
        for c in result.cohorts
    ]
    title = f"Retention: {start.event}, then {returning.event}, by {spec.period}"
    return Result("retention", title, result.as_dict(), rows)


def lifecycle(store: Store, p: Params, today: datetime | None = None) -> Result:
    """New, returning, resurrecting and dormant people per period."""
    from analyzer.retention import LifecycleSpec
    from analyzer.retention import lifecycle as compute

    since, until = p.period(today)
    spec = LifecycleSpec(
        p.step("event"), since, until, p.choice("period"), include_bots=p.flag("include_bots")
    )
    p.done()
    found = [asdict(x) for x in compute(store, checked(spec))]
    return Result("lifecycle", f"Lifecycle of {spec.event.event} by {spec.period}", found, found)


def stickiness(store: Store, p: Params, today: datetime | None = None) -> Result:
    """How many days people do something, per week, per calendar month or over the range,
    for everyone and per segment."""
    from analyzer.stickiness import StickinessSpec
    from analyzer.stickiness import stickiness as compute

    since, until = p.period(today)
    spec = StickinessSpec(
        p.step("event"),
        since,
        until,
        per=p.choice("per"),
        segments=tuple(p.many("segment")),
        segment=p.one("in_segment"),
        include_bots=p.flag("include_bots"),
    )
    p.done()
    found = compute(store, checked(spec))
    rows = [
        {"group": g.value, "days": d.days, "count": d.count, "share": d.share}
        for g in found.groups
        for d in g.days
    ]
    per = "the range" if spec.per == "range" else f"each {spec.per}"
    return Result("stickiness", f"Stickiness of {spec.event.event}: days active in {per}",
                  found.as_dict(), rows)  # fmt: skip


def journey_map(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Stages (touchpoint sets) per segment or value, against the previous period."""
    from analyzer.journeymap import JourneyMapSpec
    from analyzer.journeymap import journey_map as compute

    since, until = p.period(today)
    spec = JourneyMapSpec(
        stages=p.steps("stage"),
        date_from=since,
        date_to=until,
        window=p.duration("window"),
        breakdown=p.breakdown(),
        segment=p.one("in_segment"),
        min_sample=p.integer("min_sample"),
        include_bots=p.flag("include_bots"),
    )
    p.done()
    found = compute(store, checked(spec))
    rows = [
        {
            "group": g.value,
            "stage": s.stage,
            "name": s.name,
            "people": s.people,
            "conversion": s.conversion_from_previous,
            "from_start": s.conversion_from_start,
            "median_s": s.median_seconds_from_previous,
            "before": s.previous_conversion_from_previous,
            "change": s.change,
            "p_value": s.p_value,
            "stalls": "yes" if g.stalls_at == s.stage else "",
        }
        for g in found.groups
        for s in g.stages
    ]
    return Result("journey_map", f"Journey map: {_title(spec.stages)}", found.as_dict(), rows)


def trends(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Events, people, or a property's sum or average over time, by value or segment, with
    the previous period alongside."""
    from analyzer.trends import TrendSpec
    from analyzer.trends import trend as compute

    event = p.step("event")
    since, until = p.period(today)
    breakdown = p.breakdown(attributed=False)  # each event's own value
    spec = TrendSpec(
        event,
        since,
        until,
        interval=p.choice("interval"),
        measure=p.choice("measure"),
        property=p.one("property"),
        breakdown=breakdown,
        top=p.integer("top"),
        segment=p.one("in_segment"),
        include_bots=p.flag("include_bots"),
    )
    p.done()
    found = compute(store, checked(spec))
    rows = [
        {
            "value": s.value,
            "bucket": b.isoformat(),
            spec.measure: point,
            "previous": before,
        }
        for s in found.series
        for b, point, before in zip(found.buckets, s.points, s.previous, strict=True)
    ]
    title = f"{spec.measure.capitalize()} of {event.event} by {spec.interval}"
    return Result("trends", title, found.as_dict(), rows)


def _cleaning(p: Params) -> tuple[tuple[str, str], ...]:
    rules = []
    for rule in p.many("clean"):
        pattern, sep, alias = rule.rpartition("=")
        if not sep or not pattern:
            raise ParamError("clean", f"{rule!r} is not REGEX=ALIAS")
        rules.append((pattern, alias))
    return tuple(rules)


def web(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Sessions, bounce rate, session length, top pages, entry and exit pages and traffic
    sources, for everyone and per segment."""
    from analyzer.web import WebSpec
    from analyzer.web import web as compute

    since, until = p.period(today)
    spec = WebSpec(
        since,
        until,
        segments=tuple(p.many("segment")),
        segment=p.one("in_segment"),
        session_timeout=p.integer("session_timeout"),
        top=p.integer("top"),
        cleaning=_cleaning(p),
        include_bots=p.flag("include_bots"),
    )
    p.done()
    found = compute(store, checked(spec))
    rows = [
        {
            "group": g.value,
            "people": g.people,
            "sessions": g.sessions,
            "bounce_rate": g.bounce_rate,
            "median_session_s": g.median_session_seconds,
            "pages_per_session": g.pages_per_session,
            "top_page": g.pages[0].value if g.pages else "",
            "top_entry": g.entry[0].value if g.entry else "",
            "top_source": g.sources[0].value if g.sources else "",
        }
        for g in found.groups
    ]
    return Result("web", "Web basics", found.as_dict(), rows)


def correlation(store: Store, p: Params, today: datetime | None = None) -> Result:
    """The events and values whose share differs most between the people who dropped after a
    funnel step and those who reached the next (odds ratios, tests, Benjamini-Hochberg)."""
    from analyzer.correlation import DEFAULT_FIELDS, CorrelationSpec
    from analyzer.correlation import correlation as compute

    funnel = _funnel_spec(p, today, breakdown=False)
    step = p.optional_integer("dropped_at")
    spec = CorrelationSpec(
        funnel,
        step=step or 0,
        fields=tuple(p.many("field")) or DEFAULT_FIELDS,
        min_count=p.integer("min_count"),
        top=p.integer("top"),
    )
    p.done()
    found = compute(store, checked(spec))
    rows = [
        {
            "field": i.field,
            "value": i.value,
            "dropped": i.dropped,
            "converted": i.converted,
            "dropped_share": i.dropped_share,
            "converted_share": i.converted_share,
            "odds_ratio": i.odds_ratio,
            "adjusted_p": i.adjusted_p_value,
            "significant": "yes" if i.significant else "",
        }
        for i in found.items
    ]
    title = (
        f"What distinguishes who dropped after {found.from_event} (not reaching {found.to_event})"
    )
    return Result("correlation", title, found.as_dict(), rows)


def scorecard(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Per segment over a period: conversion, engagement, retention, revenue, satisfaction."""
    from reports import scorecard as reports

    return reports.scorecard(store, p, today)


def compare(store: Store, p: Params, today: datetime | None = None) -> Result:
    """The scorecard of a period against an earlier one, with intervals."""
    from reports import scorecard as reports

    return reports.compare(store, p, today)


def campaigns(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Campaign spend against first- and last-touch revenue, per segment."""
    from reports import scorecard as reports

    return reports.campaigns(store, p, today)


def experiment(store: Store, p: Params, today: datetime | None = None) -> Result:
    """An experiment's results: per variant and per targeted segment, each metric against the
    control (reports' rows: one per metric, segment and variant)."""
    from analyzer.experiments import catalog
    from analyzer.experiments.analysis import analyze

    key = p.one("experiment") or ""
    as_of = p.moment("as_of")
    p.done()
    found = catalog.stored(store).get(key)
    if found is None:
        raise NotFound(f"no experiment {key!r}")
    if as_of is not None:
        as_of += timedelta(days=1)  # the whole day asked for
    resolve = functools.partial(touchpoints.resolve, store)
    result = analyze(store, found.experiment, as_of or today, resolve)
    rows = []
    for m in result.metrics:
        for g in m.groups:
            for f in g.variants:
                lift = f.lift or {}
                rows.append(
                    {
                        "metric": m.name,
                        "segment": g.segment,
                        "variant": f.variant,
                        "people": f.people,
                        "value": f.value,
                        "low": f.low,
                        "high": f.high,
                        "lift": lift.get("absolute"),
                        "lift_low": lift.get("absolute_low"),
                        "lift_high": lift.get("absolute_high"),
                        "relative_lift": lift.get("relative"),
                        "p_value": lift.get("p_value"),
                        "adjusted_p_value": f.adjusted_p_value,
                        "significant": f.significant,
                    }
                )
    shown = Result("experiment", f"Experiment: {key}", result.as_dict(), rows)
    shown.warnings = [{"message": w} for w in result.warnings]
    end = found.experiment.end
    if end is None or result.as_of < end:  # still running: say what an early look costs
        shown.warnings.append({"message": f"The experiment is still running. {result.note}"})
    return shown


REPORTS: dict[str, Callable[[Store, Params, datetime | None], Result]] = {
    "funnel": funnel,
    "paths": paths,
    "painpoints": painpoints,
    "retention": retention,
    "lifecycle": lifecycle,
    "stickiness": stickiness,
    "journey_map": journey_map,
    "trends": trends,
    "web": web,
    "correlation": correlation,
    "scorecard": scorecard,
    "compare": compare,
    "campaigns": campaigns,
    "experiment": experiment,
}


def run(
    store: Store,
    kind: str,
    p: Params,
    today: datetime | None = None,
    longest_days: int | None = None,
) -> Result:
    """The report ``kind`` with parameters ``p``, over periods of at most ``longest_days``
    (JOURNEY_LONGEST_RANGE_DAYS; default 731); ParamError/SpecError name what is wrong."""
    if kind not in REPORTS:
        raise ParamError("report", f"{kind!r} is not one of {', '.join(REPORTS)}")
    declared = p.declare(
        kind,
        functools.partial(touchpoints.resolve, store),
        functools.cache(functools.partial(first_seen, store)),  # all time, read once a run
        longest_days,
    )
    try:
        result = REPORTS[kind](store, declared, today)
    except ParamError:
        raise
    except SpecError as exc:  # found while computing: a segment never refreshed, ...
        raise as_param(exc, _run_names(kind, declared.declared)) from None
    result.params = p.as_dict()
    result.warnings += [w.as_dict() for w in never_seen(store, kind, declared, today)]
    return result


def _run_names(kind: str, declared: Mapping[str, Any]) -> dict[str, str]:
    """The fields an analysis names in an error found while computing (a segment never
    refreshed), by the parameters of report ``kind`` they come from: those of its
    specification, and of one it holds by the inner field's own name."""
    spec = SPECS.get(kind)
    found = names(spec) if spec is not None else {}
    inner = {f.rsplit(".", 1)[-1]: name for f, name in found.items() if "." in f}
    return {f: name for f, name in {**inner, **found}.items() if name in declared}


# Text parameters that name an event (the others that do are of kind step or exclusion).
EVENT_NAMES = ("purchase_event", "csat_event")


def never_seen(store: Store, kind: str, p: Params, today: datetime | None = None) -> list[Unseen]:
    """What report ``kind``'s parameters ``p`` (declared, and already checked by running the
    report with them) name that never occurs in its period: its steps, exclusions, events and
    filter values."""
    if "since" not in p.declared:
        return []
    named: list[tuple[str, Step]] = []
    for name, param in p.declared.items():
        if name not in p.values:
            continue
        if param.kind == "step":
            named += [(name, s) for s in p.steps(name)]
        elif param.kind == "exclusion":
            named += [(name, x.step) for x in p.exclusions(name)]
        elif name in EVENT_NAMES:
            named += [(name, Step(e)) for e in p.values[name]]
    since, until = p.period(today)
    bots = "include_bots" in p.declared and p.flag("include_bots")
    return unseen(store, named, since, until, bots)


def event_names(
    store: Store, p: Params, today: datetime | None = None, longest_days: int | None = None
) -> Result:
    """The events seen in the period, most frequent first: what funnel steps can be."""
    from analyzer.events import BEHAVIOUR, humans
    from storage.sql import identifier

    p.declare("events", None, functools.partial(first_seen, store), longest_days)
    since, until = p.period(today)
    limit = p.integer("limit")
    bots = humans(p.flag("include_bots"))
    p.done()
    rows = store.execute(
        "SELECT event, any(type), uniqExact(event_id) AS n "  # replayed rows count once
        f"FROM {identifier(store.database)}.events WHERE {BEHAVIOUR} AND {bots} AND event != '' "
        "AND timestamp >= toDateTime(%(since)s) AND timestamp < toDateTime(%(until)s) "
        f"GROUP BY event ORDER BY n DESC, event LIMIT {int(limit)}",
        {"since": int(since.timestamp()), "until": int(until.timestamp())},
    )
    found = [{"event": str(e), "type": str(t), "count": int(n)} for e, t, n in rows]
    return Result("events", "Events", found, found)

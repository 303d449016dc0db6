"""Pain points: for a funnel and a segment, the stages ranked by drop-off, each with evidence.

A segment is the people whose value of a field is a given value (an event column or property
at their first funnel step, or a person property). For each stage (step s to step s+1):

* drop-off rate in the segment against the rest of the people, and against the segment in the
  previous period of the same length: two-proportion z-tests, reported as significant only
  when p < ``alpha`` and both sides have at least ``min_sample`` people;
* where the people who dropped went instead (their next page or event);
* loops: the share of people who, after step s, came back to a page or event they had left
  (before the next step, or before the window ended), among those who dropped against those
  who converted;
* time: the segment's median time from step s to s+1 against everyone's;
* errors: the share with an error event (name matching ``error_pattern``) after step s;
* correlated: the events and field values that the segment's people who dropped
  had (after step s) in a share most different from those who converted (analyzer.correlation,
  an item tested when at least ``min_sample`` people had it; the five most significant).

Stages are ranked by excess drop-off: people the segment lost beyond what the other people's
rate would lose. Stages with too few people are listed last, marked as not ranked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from analyzer import statistics
from analyzer.correlation import EVENT, CorrelationSpec, Item, correlation
from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR
from analyzer.funnels.people import PersonFunnel
from analyzer.funnels.report import FunnelReport, StepResult, analyze
from analyzer.funnels.spec import WITHOUT_BREAKDOWN, FunnelSpec
from analyzer.parameters import MIN_SAMPLE, Param, asked
from analyzer.paths import PAGE_OR_EVENT, first_of_runs
from analyzer.regex import problem
from analyzer.vocabulary import Breakdown, check_segment
from storage.store import Store

CORRELATED = 5  # items shown per stage


# the segment whose pain points are found: a field's value, or a defined segment
SEGMENT = Param(
    "segment",
    "FIELD=VALUE, e.g. utm_source=facebook, or segment=NAME for a defined segment",
    required=True,
)


@dataclass(frozen=True)
class PainPointSpec:
    funnel: FunnelSpec = asked(*WITHOUT_BREAKDOWN, holds=FunnelSpec)
    # as a breakdown field: a column, properties.<key> or person.<trait>; or "segment", with
    # the segment's name (or name/group) as the value
    field: str = asked(SEGMENT)
    value: str = asked(SEGMENT)
    min_sample: int = asked(MIN_SAMPLE, default=30)
    alpha: float = 0.05
    error_pattern: str = asked(
        Param(
            "error_pattern",
            "regular expression of error events",
            default=r"(?i)error|fail|exception",
        ),
        default=r"(?i)error|fail|exception",
    )
    compare_previous: bool = True

    def validate(self) -> PainPointSpec:
        if self.funnel.breakdown is not None:
            raise SpecError("funnel.breakdown", "the segment field replaces the breakdown")
        if self.field == "segment":
            check_segment(self.value, "value")
        else:
            Breakdown(self.field).validate(len(self.funnel.steps))
        self.funnel.validate()
        if not isinstance(self.value, str) or len(self.value) > 500:
            raise SpecError("value", "a segment value of up to 500 characters")
        if not isinstance(self.min_sample, int) or not 1 <= self.min_sample <= 1_000_000:
            raise SpecError("min_sample", "from 1 to 1000000 people")
        if not 0 < self.alpha < 0.5:
            raise SpecError("alpha", "a significance level between 0 and 0.5")
        if problem(self.error_pattern):
            raise SpecError("error_pattern", problem(self.error_pattern))
        return self


@dataclass(frozen=True)
class Comparison:
    entered: int
    dropped: int
    drop_rate: float
    p_value: float | None
    significant: bool


@dataclass(frozen=True)
class Destination:
    element: str
    people: int
    share: float


@dataclass
class PainPoint:
    stage: int  # from step ``stage`` to step ``stage + 1``
    from_event: str
    to_event: str
    entered: int
    dropped: int
    drop_rate: float
    excess_dropped: float
    ranked: bool
    others: Comparison | None = None
    previous: Comparison | None = None
    went_instead: list[Destination] = field(default_factory=list)
    loops_dropped: float = 0.0
    loops_converted: float = 0.0
    errors_dropped: float = 0.0
    errors_converted: float = 0.0
    median_seconds: float | None = None
    median_seconds_everyone: float | None = None
    correlated: list[Item] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class PainPointReport:
    segment: str
    people: int
    stages: list[PainPoint]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _breakdown(spec: PainPointSpec) -> Breakdown:
    if spec.field == "segment":
        return Breakdown("segment", segments=(spec.value,))
    return Breakdown(spec.field)


def z_test(dropped_a: int, n_a: int, dropped_b: int, n_b: int) -> float | None:
    """Two-sided p-value of the two-proportion z-test (pooled); None without data."""
    return statistics.two_proportion(dropped_a, n_a, dropped_b, n_b)


def _counts(steps: list[StepResult]) -> list[int]:
    return [s.people for s in steps]


def _group(report: FunnelReport, value: str) -> list[StepResult] | None:
    label = value or "(none)"
    return next((g.steps for g in report.breakdown if g.value == label), None)


def _evidence(
    store: Store, spec: PainPointSpec, stage: int
) -> tuple[Counter[str], dict[bool, tuple[int, int, int]]]:
    """Next elements of the segment's people who dropped at ``stage``, and per converted
    (True/False): people, people with a loop, people with an error event."""
    funnel = replace(spec.funnel, breakdown=_breakdown(spec))
    q = PersonFunnel(funnel, store.database)
    q.values["segment"] = spec.value
    q.values["errors"] = spec.error_pattern
    s = stage - 1  # index of the stage's first step
    columns = (
        # after the step-s event: up to the next step if reached, else until the window ends
        f"if(level > {stage}, toInt64(ix{s + 1}) - toInt64(ix{s}) - 1, toInt64(length(times))) "
        "AS _span",
        f"arraySlice(el, ix{s} + 1, _span) AS _el",
        f"arraySlice(times, ix{s} + 1, _span) AS _t",
        f"arraySlice(pe, ix{s} + 1, _span) AS _pe",
        f"arraySlice(er, ix{s} + 1, _span) AS _er",
        "arrayResize([t0 + %(window_ms)s], length(_t), t0 + %(window_ms)s) AS _end",
        "arrayFilter((x, t, p, e) -> p = 1 AND t <= e, _el, _t, _pe, _end) AS _between",
        f"arrayFilter((x, k) -> k, _between, {first_of_runs('_between')}) AS _moves",
        "arrayExists(u -> u > 1, arrayEnumerateUniq(_moves)) AS _loop",
        "arrayExists((x, t, e) -> x = 1 AND t <= e, _er, _t, _end) AS _error",
        "if(empty(_moves), '(no further events)', _moves[1]) AS _next",
    )
    people = q.sql(
        fields={
            "el": PAGE_OR_EVENT,
            "pe": f"toUInt8({BEHAVIOUR})",
            "er": "toUInt8(match(event, %(errors)s))",
        },
        events=BEHAVIOUR,
        columns=columns,
    )
    rows = store.execute(
        f"SELECT level > {stage} AS converted, if(converted, '', _next) AS next, count(), "
        f"countIf(_loop), countIf(_error) FROM ({people}) "
        f"WHERE level >= {stage} AND value = %(segment)s GROUP BY converted, next",
        q.values,
    )
    destinations: Counter[str] = Counter()
    totals: dict[bool, list[int]] = {True: [0, 0, 0], False: [0, 0, 0]}
    for converted, nxt, n, loops, errors in rows:
        side = totals[bool(converted)]
        side[0], side[1], side[2] = side[0] + int(n), side[1] + int(loops), side[2] + int(errors)
        if not converted:
            destinations[str(nxt)] += int(n)
    return destinations, {k: (v[0], v[1], v[2]) for k, v in totals.items()}


def _compare(
    spec: PainPointSpec, entered: int, dropped: int, other_entered: int, other_dropped: int
) -> Comparison:
    p = z_test(dropped, entered, other_dropped, other_entered)
    enough = min(entered, other_entered) >= spec.min_sample
    rate = other_dropped / other_entered if other_entered else 0.0
    return Comparison(
        other_entered, other_dropped, rate, p, bool(enough and p is not None and p < spec.alpha)
    )


def _item(item: Item) -> str:
    return item.value if item.field == EVENT else f"{item.field} = {item.value}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def painpoints(store: Store, spec: PainPointSpec) -> PainPointReport:
    spec.validate()
    funnel = replace(spec.funnel, breakdown=_breakdown(spec), breakdown_limit=100)
    now = analyze(store, funnel)
    mine = _group(now, spec.value)
    n = len(funnel.steps)
    if mine is None:
        return PainPointReport(spec.value, 0, [])
    before_steps: list[StepResult] | None = None
    if spec.compare_previous:
        length = funnel.date_to - funnel.date_from
        before = analyze(
            store, replace(funnel, date_from=funnel.date_from - length, date_to=funnel.date_from)
        )
        before_steps = _group(before, spec.value) or [
            replace(step, people=0) for step in before.steps
        ]
    counts, everyone = _counts(mine), _counts(now.steps)
    stages = []
    for stage in range(1, n):
        entered, reached = counts[stage - 1], counts[stage]
        dropped = entered - reached
        o_entered = everyone[stage - 1] - entered
        o_dropped = o_entered - (everyone[stage] - reached)
        others = _compare(spec, entered, dropped, o_entered, o_dropped)
        point = PainPoint(
            stage=stage,
            from_event=funnel.steps[stage - 1].event,
            to_event=funnel.steps[stage].event,
            entered=entered,
            dropped=dropped,
            drop_rate=dropped / entered if entered else 0.0,
            excess_dropped=dropped - entered * others.drop_rate,
            ranked=entered >= spec.min_sample,
            others=others,
            median_seconds=mine[stage].median_seconds_from_previous,
            median_seconds_everyone=now.steps[stage].median_seconds_from_previous,
        )
        if before_steps is not None:
            b = _counts(before_steps)
            point.previous = _compare(spec, entered, dropped, b[stage - 1], b[stage - 1] - b[stage])
        if entered:
            _explain(store, spec, point)
        stages.append(point)
    stages.sort(key=lambda p: (not p.ranked, -p.excess_dropped, -p.dropped, p.stage))
    return PainPointReport(spec.value, counts[0], stages)


def _explain(store: Store, spec: PainPointSpec, point: PainPoint) -> None:
    destinations, sides = _evidence(store, spec, point.stage)
    dropped_n, dropped_loops, dropped_errors = sides[False]
    conv_n, conv_loops, conv_errors = sides[True]
    point.went_instead = [
        Destination(element, people, people / dropped_n)
        for element, people in sorted(destinations.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]
    point.loops_dropped = dropped_loops / dropped_n if dropped_n else 0.0
    point.loops_converted = conv_loops / conv_n if conv_n else 0.0
    point.errors_dropped = dropped_errors / dropped_n if dropped_n else 0.0
    point.errors_converted = conv_errors / conv_n if conv_n else 0.0
    reasons = point.reasons
    if not point.ranked:
        reasons.append(
            f"only {point.entered} people reached this stage (< {spec.min_sample}): not ranked"
        )
    others, previous = point.others, point.previous
    if others is not None and others.significant:
        direction = "above" if point.drop_rate > others.drop_rate else "below"
        reasons.append(
            f"drop-off {point.drop_rate:.0%} is {direction} the other people's {others.drop_rate:.0%} "
            f"(p={others.p_value:.3g})"
        )
    if previous is not None and previous.significant:
        direction = "up" if point.drop_rate > previous.drop_rate else "down"
        reasons.append(
            f"drop-off {direction} from {previous.drop_rate:.0%} in the previous period "
            f"(p={previous.p_value:.3g})"
        )
    if point.went_instead and dropped_n:
        top = point.went_instead[0]
        reasons.append(f"{top.share:.0%} of those who dropped went to {top.element} next")
    if dropped_n and point.loops_dropped > max(0.1, 1.5 * point.loops_converted):
        reasons.append(
            f"{point.loops_dropped:.0%} of those who dropped went back and forth between pages, "
            f"against {point.loops_converted:.0%} of those who converted"
        )
    if dropped_n and point.errors_dropped > max(0.05, 1.5 * point.errors_converted):
        reasons.append(
            f"{point.errors_dropped:.0%} of those who dropped met an error event, "
            f"against {point.errors_converted:.0%} of those who converted"
        )
    point.correlated = correlation(
        store,
        CorrelationSpec(
            replace(spec.funnel, breakdown=_breakdown(spec)),
            step=point.stage,
            min_count=spec.min_sample,
            top=CORRELATED,
            value=spec.value,
        ),
    ).items
    for item in point.correlated:
        if item.significant and item.odds_ratio > 1:
            reasons.append(
                f"{item.dropped_share:.0%} of those who dropped had {_item(item)}, against "
                f"{item.converted_share:.0%} of those who converted (odds ratio "
                f"{item.odds_ratio:.1f}, adjusted p={item.adjusted_p_value:.3g})"
            )
            break
    mine, everyone = point.median_seconds, point.median_seconds_everyone
    if mine is not None and everyone and mine > 1.5 * everyone:
        reasons.append(
            f"the people who converted took {_duration(mine)} (median), against {_duration(everyone)} "
            "for everyone"
        )

"""An experiment's results: per variant and per targeted segment, each metric's figures, the
lift over the control with its interval and p-value, CUPED, the sample ratio test, and the
people a variant needs.

Who counts: a person (identity-stitched) from their first exposure, an ``Experiment Viewed``
event naming the experiment (``experiment``, or Segment's ``experiment_id``) and one of its
variants (``variant``, or ``variation_id``) at or after its start and before its end; bots are
left out. The person's variant and segment (``segment``: the targeted segment the content was
chosen for, as the collector served it) are those of that first exposure. People exposed to
more than one variant (two devices before their identity was stitched) stay in the first and
are counted in ``crossed``.

What counts for a metric: events after the first exposure and within the metric's ``within``
of it, even past the experiment's end (every person gets the whole window; people exposed less
than ``within`` ago have had less). A conversion is the metric's steps in order; revenue is the
sum of the property over the event. CUPED's covariate is the same measure in the ``within``
before the first exposure (for a conversion: how often the last step was done then).

Every p-value of a treatment against the control (each metric, each segment) is also adjusted
with Benjamini-Hochberg over all of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import number_property, property_text
from analyzer.experiments import stats
from analyzer.experiments.definition import EXPOSURE_EVENT, Experiment, Metric
from analyzer.query import Query
from analyzer.statistics import Z95, benjamini_hochberg
from analyzer.timeline import timelines
from analyzer.vocabulary import Step
from storage.store import Store

ALL = "(all)"  # every exposed person, whatever their segment
NO_SEGMENT = "(none)"  # exposed without a targeted segment (an experiment for everyone)
MAX_STEPS = 10


@dataclass
class VariantFigures:
    """One variant's figures for one metric in one segment. ``value``: the conversion rate
    or the mean per person; ``low``/``high`` its 95% interval (Wilson for a rate)."""

    variant: str
    people: int
    total: float  # conversions, or the measure's sum
    value: float | None
    low: float | None
    high: float | None
    lift: dict[str, Any] | None = None  # against the control (stats.Lift)
    cuped_lift: dict[str, Any] | None = None  # the same, CUPED-adjusted
    adjusted_p_value: float | None = None  # Benjamini-Hochberg over every comparison
    significant: bool = False  # adjusted p-value below 0.05


@dataclass
class Group:
    segment: str
    variants: list[VariantFigures]
    sample_ratio_p_value: float | None = None


@dataclass
class MetricResult:
    name: str
    kind: str  # conversion or revenue
    guardrail: bool
    worse: str
    within_seconds: float
    groups: list[Group]
    variance_reduction: float | None = None  # CUPED's, over everyone exposed


@dataclass
class ExperimentResult:
    key: str
    control: str
    variants: list[str]
    weights: list[int]
    start: datetime
    end: datetime | None
    as_of: datetime
    people: int
    crossed: int  # people exposed to more than one variant
    sample_ratio_p_value: float | None
    sample_ratio_mismatch: bool
    metrics: list[MetricResult]
    people_needed: float | None  # per variant, for the primary metric's minimum effect
    note: str = stats.FALSE_POSITIVES_NOTE
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resolve(experiment: Experiment, resolve: Any) -> list[Metric]:
    """Every metric, its steps naming touchpoint sets resolved by ``resolve``."""
    out = []
    for metric in (experiment.metric, *experiment.guardrails):
        steps = tuple(resolve(s) if s.set_name is not None else s for s in metric.converts)
        out.append(replace(metric, converts=steps))
    return out


def exposure_sql(query: Query) -> tuple[str, str]:
    """SQL of an event's experiment key and variant, as ``Experiment Viewed`` carries them
    (``experiment`` and ``variant``, else Segment's ``experiment_id`` and ``variation_id``);
    their property names bound in ``query``."""
    query.update(
        {"xp_k": "experiment", "xp_k2": "experiment_id", "xp_v": "variant", "xp_v2": "variation_id"}
    )

    def either(first: str, second: str) -> str:
        return f"if({property_text(first)} != '', {property_text(first)}, {property_text(second)})"

    return either("xp_k", "xp_k2"), either("xp_v", "xp_v2")


def metric_sql(
    experiment: Experiment, metric: Metric, database: str, until: datetime
) -> tuple[str, dict[str, Any]]:
    """The per (variant, segment) sums of ``metric`` over everyone exposed before ``until``:
    ``variant, segment, n, y, yy, x, xx, xy, crossed``."""
    query = Query(
        {
            "xp_event": EXPOSURE_EVENT,
            "xp_key": experiment.key,
            "xp_sp": "segment",
            "xp_variants": [v.name for v in experiment.variants],
            "xp_from_ms": int(experiment.start.timestamp() * 1000),
            "xp_to_ms": int(until.timestamp() * 1000),
            "xp_w": int(metric.within.total_seconds() * 1000),
        }
    )
    key, variant = exposure_sql(query)
    exposure = (
        f"(type = 'track' AND event = %(xp_event)s AND {key} = %(xp_key)s AND "
        "timestamp_ms >= %(xp_from_ms)s AND timestamp_ms < %(xp_to_ms)s)"
    )
    fields = {
        "xv": f"if({exposure} AND has(%(xp_variants)s, {variant}), {variant}, '')",
        "xs": f"if({exposure}, {property_text('xp_sp')}, '')",
    }
    if metric.converts:
        conditions = [query.step(s) for s in metric.converts]
        mask = " + ".join(f"if({c}, {1 << i}, 0)" for i, c in enumerate(conditions))
        fields["xm"] = f"toUInt16({mask})"
        wanted = " OR ".join(conditions)
    else:
        query.update({"xr_event": metric.revenue_event, "xr_prop": metric.revenue_property})
        fields["xr"] = (
            f"if(type = 'track' AND event = %(xr_event)s, {number_property('xr_prop')}, 0.)"
        )
        wanted = "(type = 'track' AND event = %(xr_event)s)"
    where = (
        f"({exposure} OR ({wanted})) AND timestamp_ms >= %(xp_from_ms)s - %(xp_w)s "
        "AND timestamp_ms < %(xp_to_ms)s + %(xp_w)s"
    )
    source = timelines(database, fields, where, ids=False)
    # Old servers drop a column used only inside a lambda: the exposure's position and time
    # enter lambdas as arrays of their own.
    first = [
        "arrayFirstIndex(v -> v != '', xv) AS e0",
        "arrayEnumerate(times) AS _i",
        "arrayResize([toUInt64(e0)], length(times), toUInt64(e0)) AS _e0",
        "arrayResize([times[e0]], length(times), times[e0]) AS _t0",
    ]
    window = "t <= t0 + %(xp_w)s"
    before = "i < e AND t + %(xp_w)s >= t0"
    if metric.converts:
        found = []
        previous = "_e0"
        for i in range(len(metric.converts)):
            found.append(
                f"arrayFirstIndex((t, m, i, e, t0) -> bitAnd(m, {1 << i}) != 0 AND i > e AND "
                f"{window}, times, xm, _i, {previous}, _t0) AS c{i}"
            )
            found.append(f"arrayResize([toUInt64(c{i})], length(times), toUInt64(c{i})) AS _c{i}")
            previous = f"_c{i}"
        last = 1 << (len(metric.converts) - 1)
        reached = " AND ".join(f"c{i} > 0" for i in range(len(metric.converts)))
        measures = [
            *found,
            f"toFloat64({reached}) AS y",
            f"toFloat64(arrayCount((t, m, i, e, t0) -> bitAnd(m, {last}) != 0 AND {before}, "
            "times, xm, _i, _e0, _t0)) AS x",
        ]
    else:
        measures = [
            f"arraySum((t, r, i, e, t0) -> if(i > e AND {window}, r, 0.), times, xr, _i, _e0, "
            "_t0) AS y",
            f"arraySum((t, r, i, e, t0) -> if({before}, r, 0.), times, xr, _i, _e0, _t0) AS x",
        ]
    per_person = (
        f"SELECT xv[e0] AS variant, xs[e0] AS segment, "
        "toUInt8(arrayUniq(arrayFilter(v -> v != '', xv)) > 1) AS crossed, "
        f"{', '.join(first)}, {', '.join(measures)} FROM {source} "
        "WHERE arrayExists(v -> v != '', xv)"
    )
    sql = (
        "SELECT variant, segment, count() AS n, sum(y), sum(y * y), sum(x), sum(x * x), "
        f"sum(x * y), sum(crossed) FROM ({per_person}) GROUP BY variant, segment "
        "ORDER BY variant, segment"
    )
    return sql, query.values


def _figures(kind: str, variant: str, s: stats.Paired) -> VariantFigures:
    if kind == "conversion":
        interval = stats.wilson(s.y, s.n)
        rate = s.y / s.n if s.n else None
        return VariantFigures(
            variant,
            s.n,
            s.y,
            rate,
            interval.low if interval else None,
            interval.high if interval else None,
        )
    if not s.n:
        return VariantFigures(variant, 0, 0.0, None, None, None)
    mean = s.measure.mean
    half = Z95 * (s.measure.variance / s.n) ** 0.5 if s.n > 1 else None
    low, high = (None, None) if half is None else (mean - half, mean + half)
    return VariantFigures(variant, s.n, s.y, mean, low, high)


def _compare(kind: str, treatment: stats.Paired, control: stats.Paired) -> stats.Lift | None:
    if kind == "conversion":
        return stats.proportion_lift(treatment.y, treatment.n, control.y, control.n)
    return stats.welch(treatment.measure, control.measure)


def _group(experiment: Experiment, kind: str, segment: str, sums: dict[str, stats.Paired]) -> Group:
    names = [v.name for v in experiment.variants]
    each = [sums.get(name, stats.Paired()) for name in names]
    figures = [_figures(kind, name, s) for name, s in zip(names, each, strict=True)]
    control = sums.get(experiment.control, stats.Paired())
    adjusted = dict(zip(names, stats.cuped(each), strict=True))
    for f in figures:
        if f.variant == experiment.control:
            continue
        lift = _compare(kind, sums.get(f.variant, stats.Paired()), control)
        f.lift = None if lift is None else asdict(lift)
        cuped = stats.welch(adjusted[f.variant], adjusted[experiment.control])
        f.cuped_lift = None if cuped is None else asdict(cuped)
    srm = stats.sample_ratio_mismatch([s.n for s in each], [v.weight for v in experiment.variants])
    return Group(segment, figures, srm)


def analyze(
    store: Store,
    experiment: Experiment,
    as_of: datetime | None = None,
    resolve: Any = None,
) -> ExperimentResult:
    """The results of ``experiment`` as of ``as_of`` (default now; never past its end), its
    touchpoint sets resolved by ``resolve`` (analyzer.touchpoints.resolve over the store)."""
    as_of = as_of or datetime.now(UTC)
    until = as_of if experiment.end is None else min(as_of, experiment.end)
    metrics = _resolve(experiment, resolve or _no_sets)
    results: list[MetricResult] = []
    people = crossed = 0
    primary: dict[str, stats.Paired] = {}  # the primary metric's sums per variant, everyone's
    for i, metric in enumerate(metrics):
        sql, params = metric_sql(experiment, metric, store.database, until)
        by_segment: dict[str, dict[str, stats.Paired]] = {}
        everyone: dict[str, stats.Paired] = {}
        total = stats.Paired()
        metric_crossed = 0
        for variant, segment, n, y, yy, x, xx, xy, cross in store.execute(sql, params):
            s = stats.Paired(int(n), float(y), float(yy), float(x), float(xx), float(xy))
            by_segment.setdefault(str(segment) or NO_SEGMENT, {})[str(variant)] = s
            everyone[str(variant)] = everyone.get(str(variant), stats.Paired()) + s
            total += s
            metric_crossed += int(cross)
        groups = [_group(experiment, metric.kind, ALL, everyone)]
        if experiment.segments:
            groups += [
                _group(experiment, metric.kind, name, by_segment.get(name, {}))
                for name in experiment.segments
            ]
        reduction = None
        plain = total.measure.variance
        if total.n > 2 and plain > 0:
            (adjusted,) = stats.cuped([total])
            reduction = 1 - adjusted.variance / plain
        results.append(
            MetricResult(
                metric.name,
                metric.kind,
                i > 0,
                metric.worse,
                metric.within.total_seconds(),
                groups,
                reduction,
            )
        )
        if i == 0:
            people, crossed, primary = total.n, metric_crossed, everyone
    _adjust(results)
    counts = [primary.get(v.name, stats.Paired()).n for v in experiment.variants]
    srm = stats.sample_ratio_mismatch(counts, [v.weight for v in experiment.variants])
    result = ExperimentResult(
        key=experiment.key,
        control=experiment.control,
        variants=[v.name for v in experiment.variants],
        weights=[v.weight for v in experiment.variants],
        start=experiment.start,
        end=experiment.end,
        as_of=until,
        people=people,
        crossed=crossed,
        sample_ratio_p_value=srm,
        sample_ratio_mismatch=srm is not None and srm < stats.SRM_ALPHA,
        metrics=results,
        people_needed=_people_needed(
            experiment, metrics[0], primary.get(experiment.control, stats.Paired())
        ),
    )
    if result.sample_ratio_mismatch:
        result.warnings.append(
            f"sample ratio mismatch: the variants' exposed people ({_listed(counts)}) are not "
            f"in the proportion of their weights ({_listed(result.weights)}), p = {srm:.2g}; "
            "the assignment or the exposure events are broken, and the lifts cannot be trusted"
        )
    if crossed:
        result.warnings.append(
            f"{crossed} people were exposed to more than one variant (on devices not yet "
            "linked to them); each counts in the variant of their first exposure"
        )
    return result


def _listed(values: list[int]) -> str:
    return " : ".join(str(v) for v in values)


def _adjust(results: list[MetricResult]) -> None:
    """Benjamini-Hochberg over every comparison of every metric and segment."""
    compared = [f for m in results for g in m.groups for f in g.variants if f.lift is not None]
    adjusted = benjamini_hochberg([float(f.lift["p_value"]) for f in compared])  # type: ignore[index]
    for f, p in zip(compared, adjusted, strict=True):
        f.adjusted_p_value = p
        f.significant = p < 0.05


def _people_needed(experiment: Experiment, metric: Metric, control: stats.Paired) -> float | None:
    """People per variant to detect the minimum effect on the primary ``metric``, from the
    control's sums over everyone exposed so far."""
    if experiment.minimum_effect is None or not control.n:
        return None
    if metric.kind == "conversion":
        return stats.people_needed_rate(control.y / control.n, experiment.minimum_effect)
    if control.n < 2:
        return None
    deviation = control.measure.variance**0.5
    return stats.people_needed_mean(deviation, experiment.minimum_effect)


def _no_sets(step: Step) -> Step:
    raise SpecError(step.event, "touchpoint sets are resolved from a store")

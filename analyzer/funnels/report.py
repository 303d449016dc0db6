"""Funnel results: stage conversion, time to convert, breakdowns, trend and who dropped.

Each function runs one aggregation over the per-person rows of analyzer.funnels.people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.funnels.people import PersonFunnel
from analyzer.funnels.spec import FunnelSpec
from analyzer.membership import check_refreshed
from analyzer.vocabulary import shown_value
from storage.store import Store

QUANTILES = (0.5, 0.9)
# Histogram bins of time to convert, in seconds: readable edges rather than equal widths.
BINS = (
    0,
    10,
    30,
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    3 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
    90 * 86400 + 1,
)
INTERVALS = ("day", "week")
OTHER = "(other)"  # the values past the breakdown's limit, together


@dataclass(frozen=True)
class StepResult:
    step: int
    event: str
    people: int
    dropped: int
    conversion_from_start: float
    conversion_from_previous: float
    median_seconds_from_previous: float | None
    p90_seconds_from_previous: float | None


@dataclass(frozen=True)
class Bin:
    from_seconds: int
    to_seconds: int
    people: int


@dataclass(frozen=True)
class Histogram:
    from_step: int
    to_step: int
    bins: list[Bin]


@dataclass(frozen=True)
class Group:
    value: str
    steps: list[StepResult]


@dataclass
class FunnelReport:
    steps: list[StepResult]
    excluded: int = 0
    time_to_convert: list[Histogram] = field(default_factory=list)
    breakdown: list[Group] = field(default_factory=list)
    breakdown_values: int = 0  # how many values there were, shown or not

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _steps(spec: FunnelSpec, counts: list[int], quantiles: list[list[float]]) -> list[StepResult]:
    n = len(spec.steps)
    out = []
    for k in range(n):
        q = quantiles[k - 1] if k else []
        reached = counts[k] > 0 and k > 0
        out.append(
            StepResult(
                step=k + 1,
                event=spec.steps[k].event,
                people=counts[k],
                dropped=counts[k] - (counts[k + 1] if k + 1 < n else counts[k]),
                conversion_from_start=counts[k] / counts[0] if counts[0] else 0.0,
                conversion_from_previous=(
                    1.0 if not k else (counts[k] / counts[k - 1] if counts[k - 1] else 0.0)
                ),
                median_seconds_from_previous=q[0] / 1000 if reached else None,
                p90_seconds_from_previous=q[1] / 1000 if reached else None,
            )
        )
    return out


def analyze(store: Store, spec: FunnelSpec) -> FunnelReport:
    """Steps with people, drop-off, conversion and time to convert (median, p90 and a
    histogram per step), people excluded, and the same steps per breakdown value."""
    return _analyze(store, spec, None)[0]


def analyze_periods(
    store: Store, spec: FunnelSpec, previous_from: datetime
) -> tuple[FunnelReport, FunnelReport]:
    """``analyze`` of the spec's period and of the one from ``previous_from`` to its start,
    in one read of the events: (now, then), without the time-to-convert histograms (their
    bins cost a sixth of a journey map's time on the 10 M bench set, and a map shows the
    median and p90 only)."""
    reports = _analyze(store, spec, previous_from, histograms=False)
    return reports[1], reports[0]


def _analyze(
    store: Store, spec: FunnelSpec, previous_from: datetime | None, histograms: bool = True
) -> dict[int, FunnelReport]:
    """The report of each period: 0 alone, or 0 (previous) and 1 with ``previous_from``;
    ``time_to_convert`` left empty without ``histograms``."""
    spec.validate()
    check_refreshed(store, spec.named_segments())
    q = PersonFunnel(spec, store.database, previous_from)
    n = q.n
    gaps = [f"t{k} - t{k - 1}" for k in range(1, n)] + [f"t{n - 1} - t0"]
    reached = [f"countIf(level >= {k + 1})" for k in range(n)]
    quantiles = [_quantiles("", f"t{k} - t{k - 1}, level >= {k + 1}") for k in range(1, n)]
    hist_keys = _histogram_keys(gaps, n) if histograms else "CAST([] AS Array(UInt16))"
    hist = "sumMap(hk, arrayMap(k -> toUInt64(1), hk))"
    if q.breakdown_is_segment:
        rows = _rows_by_segment(store, q, reached, quantiles, hist, hist_keys)
    else:
        rows = _rows_by_value(store, q, reached, hist, hist_keys)
    periods = (0, 1) if q.periods else (0,)
    bins = len(gaps) if histograms else 0
    return {p: _report(spec, [r[1:] for r in rows if r[0] == p], bins) for p in periods}


def _histogram_keys(gaps: list[str], n: int) -> str:
    """SQL: each person's bin per reached gap as one key (gap * 32 + bin), counted by one
    sumMap over everyone's row, instead of a countIf per gap and bin."""
    keys, oks = [], []
    for g, gap in enumerate(gaps):
        to = g + 2 if g < n - 1 else n
        position = " + ".join(f"toUInt16(({gap}) >= {edge * 1000})" for edge in BINS[1:])
        keys.append(f"toUInt16({g * 32} + {position})")
        oks.append(f"toUInt8(level >= {to})")
    return f"arrayFilter((k, ok) -> ok = 1, [{', '.join(keys)}], [{', '.join(oks)}])"


def _report(spec: FunnelSpec, rows: list[Row], gaps: int) -> FunnelReport:
    """A period's report from its rows (everyone's first, then the breakdown's), with the
    histograms of ``gaps`` gaps (none: no histograms)."""
    n = len(spec.steps)
    report = FunnelReport(steps=_steps(spec, [0] * n, [[0, 0]] * (n - 1)))
    rest: list[int] = []  # the people of the values past breakdown_limit, per step
    by_value = spec.breakdown is not None and spec.breakdown.field != "segment"
    for row in rows:
        is_value, value, excluded = int(row[0]), str(row[1]), int(row[2])
        counts = [int(c) for c in row[3 : 3 + n]]
        qs = [list(x) for x in row[3 + n : 2 + 2 * n]]
        steps = _steps(spec, counts, qs)
        if not is_value:
            report.steps, report.excluded = steps, excluded
            found = dict(zip(*row[2 + 2 * n], strict=True))
            width = len(BINS) - 1
            for g in range(gaps):
                chunk = [int(found.get(g * 32 + b, 0)) for b in range(width)]
                report.time_to_convert.append(
                    Histogram(
                        from_step=g + 1 if g < n - 1 else 1,
                        to_step=g + 2 if g < n - 1 else n,
                        bins=[
                            Bin(lo, hi, c)
                            for lo, hi, c in zip(BINS, BINS[1:], chunk, strict=False)
                            if lo * 1000 <= spec.window_ms
                        ],
                    )
                )
        else:
            report.breakdown_values += 1
            if len(report.breakdown) < spec.breakdown_limit and counts[0]:
                report.breakdown.append(Group(shown_value(value) or "(none)", steps))
            elif counts[0] and by_value:  # the rest together: each person has one value, so
                # their people add up (a person is in several segments: not theirs)
                other = [a + b for a, b in zip(rest or [0] * n, counts, strict=True)]
                rest = other
    if rest:  # times are not known for the rest together
        shown = _steps(spec, rest, [[0, 0]] * (n - 1))
        report.breakdown.append(
            Group(OTHER, [replace(s, median_seconds_from_previous=None,
                                  p90_seconds_from_previous=None) for s in shown])
        )  # fmt: skip
    return report


# period, is_value, value, excluded, reached per step, quantiles per gap, histogram
Row = tuple[Any, ...]


def _quantiles(combinator: str, args: str) -> str:
    """``quantilesExactIf`` of QUANTILES, or its -State / -Merge form."""
    levels = ", ".join(str(x) for x in QUANTILES)
    return f"quantilesExactIf{combinator}({levels})({args})"


def _rows_by_value(
    store: Store, q: PersonFunnel, reached: list[str], hist: str, keys: str
) -> list[Row]:
    """Everyone's row, then one per breakdown value (most people first): each person has one
    value, so the figures are aggregated once per value and everyone's are merged from them
    (counts and histogram bins add up, quantile states merge)."""
    n = q.n
    states = [_quantiles("State", f"t{k} - t{k - 1}, level >= {k + 1}") for k in range(1, n)]
    per_value = ", ".join(
        [
            "value AS v",
            "countIf(level = 0) AS ex",
            *(f"{f} AS c{k}" for k, f in enumerate(reached)),
            *(f"{f} AS q{k}" for k, f in enumerate(states)),
            f"{hist} AS h",
        ]
    )
    finalized = ", ".join(f"finalizeAggregation(q{k})" for k in range(n - 1))
    cs = ", ".join(f"c{k}" for k in range(n))
    columns = [
        "period" if q.periods else "0",
        f"groupArray((v, ex, {cs}, {finalized}))",
        "sum(ex)",
        *(f"sum(c{k})" for k in range(n)),
        *(_quantiles("Merge", f"q{k}") for k in range(n - 1)),
        "sumMap(tupleElement(h, 1), tupleElement(h, 2))",
    ]
    hashed = q.spec.breakdown is not None and not q.breakdown_is_person
    by = "period, " if q.periods else ""
    source = (
        f"FROM (SELECT {by}{per_value} FROM (SELECT *, {keys} AS hk "
        f"FROM ({q.sql(hashed_value=hashed)})) GROUP BY {by}v)"
    )
    if q.periods:  # one row per period, gathered in one: chDB fails to return several rows
        # of arrays of tuples
        named = ", ".join(f"{c} AS r{i}" for i, c in enumerate(columns))
        every = ", ".join(f"r{i}" for i in range(len(columns)))
        ((found,),) = store.execute(
            f"SELECT groupArray(({every})) FROM (SELECT {named} {source} GROUP BY period)",
            q.values,
        )
    else:
        found = store.execute(f"SELECT {', '.join(columns)} {source}", q.values)
    out: list[Row] = []
    for p, groups, *everyone in found:
        if not groups:
            continue
        out.append((p, 0, "", *everyone))
        if q.spec.breakdown is None:
            continue
        if hashed:
            groups = _named(store, q, groups)
        values = sorted(((p, 1, *g, None) for g in groups), key=lambda r: (-r[4], r[2]))
        out += values
    return out


def _named(store: Store, q: PersonFunnel, groups: list[Row]) -> list[Row]:
    """Groups keyed by value hashes, keyed by their texts instead: read for the values shown
    (the most entered, and all tied with the last of them), the rest only counted."""
    entered = sorted((int(g[2]) for g in groups), reverse=True)
    limit = q.spec.breakdown_limit
    least = entered[limit - 1] if len(entered) > limit else 0
    names = q.value_texts(store, {int(g[0]) for g in groups if int(g[2]) >= least})
    return [(names.get(int(g[0]), ""), *g[1:]) for g in groups]


def _rows_by_segment(
    store: Store, q: PersonFunnel, reached: list[str], quantiles: list[str], hist: str, keys: str
) -> list[Row]:
    """Everyone's row, then one per segment: a person counts in each of their segments, so
    everyone's figures are aggregated on their own."""
    period, by = ("period", "period, ") if q.periods else ("0", "")
    sql = (
        f"SELECT {period} AS p, tupleElement(g, 1) AS is_value, tupleElement(g, 2) AS v, "
        f"countIf(level = 0), {', '.join(reached + quantiles)}, {hist} "
        f"FROM (SELECT *, {_group(q)} AS g, if(tupleElement(g, 1) = 0, {keys}, "
        f"CAST([] AS Array(UInt16))) AS hk FROM ({q.sql()})) GROUP BY {by}g "
        f"ORDER BY p, is_value, countIf(level >= 1) DESC, v"
    )
    return [tuple(row) for row in store.execute(sql, q.values)]


def _group(q: PersonFunnel) -> str:
    """``g``: (0, '') for everyone, plus (1, value) per breakdown value of a person."""
    if q.breakdown_is_segment:  # a person counts in each of their segments
        return (
            "arrayJoin(arrayConcat([(0, '')], arrayMap(s -> (1, s), if(empty(segs), [''], segs))))"
        )
    if q.spec.breakdown:
        return "arrayJoin([(0, ''), (1, value)])"
    return "(0, '')"


def reached(store: Store, spec: FunnelSpec) -> dict[str | None, list[int]]:
    """People reaching each step: under None for everyone, and per breakdown value ('' for
    none). The counts of ``analyze`` without times and histograms, for frequent callers such as
    alert rules."""
    spec.validate()
    check_refreshed(store, spec.named_segments())
    q = PersonFunnel(spec, store.database)
    counts = ", ".join(f"countIf(level >= {k + 1})" for k in range(q.n))
    sql = (
        f"SELECT tupleElement(g, 1), tupleElement(g, 2), {counts} "
        f"FROM (SELECT *, {_group(q)} AS g FROM ({q.sql()})) GROUP BY g"
    )
    return {
        (str(v) if int(is_value) else None): [int(c) for c in rest]
        for is_value, v, *rest in store.execute(sql, q.values)
    }


def run(store: Store, spec: FunnelSpec) -> list[StepResult]:
    """The funnel's steps with people, drop-off, conversion and time to convert."""
    return analyze(store, spec).steps


@dataclass(frozen=True)
class TrendPoint:
    period: date
    entered: int
    converted: int
    conversion: float
    reached: list[int]


def trend(store: Store, spec: FunnelSpec, interval: str = "day") -> list[TrendPoint]:
    """Conversion by the day or week (Monday, UTC) people entered the funnel."""
    if interval not in INTERVALS:
        raise SpecError("interval", f"{interval!r} is not one of {', '.join(INTERVALS)}")
    spec.validate()
    check_refreshed(store, spec.named_segments())
    q = PersonFunnel(spec, store.database)
    bucket = "toDate" if interval == "day" else "toMonday"
    reached = ", ".join(f"countIf(level >= {k + 1})" for k in range(q.n))
    sql = (
        f"SELECT {bucket}(toDateTime(intDiv(t0, 1000), 'UTC')) AS period, {reached} "
        f"FROM ({q.sql()}) WHERE level > 0 GROUP BY period ORDER BY period"
    )
    points = []
    for row in store.execute(sql, q.values):
        counts = [int(c) for c in row[1:]]
        period = row[0].date() if isinstance(row[0], datetime) else row[0]
        points.append(
            TrendPoint(
                period, counts[0], counts[-1], counts[-1] / counts[0] if counts[0] else 0.0, counts
            )
        )
    return points


@dataclass(frozen=True)
class DroppedPerson:
    person_id: str
    last_step_at: datetime
    value: str


def dropped(
    store: Store, spec: FunnelSpec, step: int, limit: int = 1000, offset: int = 0
) -> list[DroppedPerson]:
    """People who reached ``step`` (1-based) and not the next one, by person id: to export, or
    to keep as a segment. With a breakdown, each carries its value."""
    spec.validate()
    check_refreshed(store, spec.named_segments())
    q = PersonFunnel(spec, store.database)
    if not 1 <= step < q.n:
        raise SpecError("step", f"people drop after steps 1 to {q.n - 1}")
    if not 1 <= limit <= 100_000 or offset < 0:
        raise SpecError("limit", "from 1 to 100000 people; offset: 0 or more")
    sql = (
        f"SELECT person_id, t{step - 1}, value FROM ({q.sql(ids=True)}) WHERE level = {step} "
        f"ORDER BY person_id LIMIT {int(offset)}, {int(limit)}"
    )
    return [
        DroppedPerson(str(p), datetime.fromtimestamp(int(t) / 1000, UTC), str(v))
        for p, t, v in store.execute(sql, q.values)
    ]

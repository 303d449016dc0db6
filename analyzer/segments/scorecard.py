"""The segment scorecard: is each segment worth it, and did a change work for it?

For a period and each segment (its members at the latest refresh; a family such as an RFM
segment counts per group) and everyone active (``(all)``), over the people active in the period:

* conversion of a chosen funnel (people who entered it in the period, and converted);
* engagement: sessions per person, events per session, active days per person;
* retention: of the people whose first active day in the period leaves ``retention_days`` to
  watch before the period ends, the share active again within those days;
* revenue: buyers, purchase rate, revenue, per person and per buyer;
* customer satisfaction, where survey answers were imported: a score property of an event
  (``csat_event``, each answer counts) or a trait (``csat_trait``, the person's latest value):
  answers, mean score, and the share at or above ``satisfied_at``.

Every figure comes with what its confidence interval needs (sums and sums of squares per
person), so ``compare`` can say whether a segment's figures moved between two periods with a
95% interval and a p-value (normal approximation: Welch for means, unpooled for proportions,
the delta method for events per session), and refuse to call a change on too few people.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analyzer import statistics
from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR, has_property, number_property, purchase_amount
from analyzer.funnels import analyze
from analyzer.funnels.spec import MODE, WINDOW, FunnelSpec
from analyzer.membership import check_refreshed, listed, members_sql, refreshed
from analyzer.parameters import (
    BOTS,
    PURCHASE_EVENT,
    REVENUE_PROPERTY,
    SESSION_TIMEOUT,
    SINCE,
    STEP,
    UNTIL,
    Param,
    asked,
)
from analyzer.query import Query
from analyzer.segments.catalog import stored
from analyzer.segments.features import Features
from analyzer.sessions import boundaries, check_timeout
from analyzer.statistics import Estimate, mean, share
from analyzer.timeline import timelines
from analyzer.vocabulary import Breakdown, Step, check_property, check_range, check_segments
from storage.sql import identifier
from storage.store import Store

ALL = "(all)"
NONE = "(none)"
DAY_MS = 86_400_000
MIN_SAMPLE = 30

# The per-person sums a segment's figures are made of (see ``_SUMS``).
SUMS = (
    "people",
    "events",
    "events_sq",
    "sessions",
    "sessions_sq",
    "events_sessions",
    "active_days",
    "active_days_sq",
    "eligible",
    "returned",
    "purchases",
    "buyers",
    "revenue",
    "revenue_sq",
    "responses",
    "score",
    "score_sq",
    "satisfied",
    "entered",
    "converted",
)
FROM_FUNNEL = ("entered", "converted")  # the funnel analyzer's counts
QUERIED = tuple(s for s in SUMS if s not in FROM_FUNNEL)  # the columns of ``_SUM_SQL``


@dataclass(frozen=True)
class ScorecardSpec:
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    segments: tuple[str, ...] = asked(  # empty: every refreshed segment
        Param("segment", "a segment (NAME or NAME/GROUP); default every refreshed one", many=True),
        default=(),
    )
    steps: tuple[Step, ...] = asked(  # the funnel whose conversion is scored; empty: none
        Param(
            "step", f"a step of the funnel whose conversion is scored: {STEP}", "step", many=True
        ),
        default=(),
    )
    window: timedelta = asked(WINDOW, default=timedelta(days=7))
    mode: str = asked(MODE, default="ordered")
    purchase_event: str = asked(PURCHASE_EVENT, default="Order Completed")
    revenue_property: str = asked(REVENUE_PROPERTY, default="revenue")
    retention_days: int = asked(
        Param(
            "retention_days", "days after the first active day a return counts", "integer", 7, 1, 90
        ),
        default=7,
    )
    session_timeout_minutes: int = asked(SESSION_TIMEOUT, default=30)
    csat_event: str | None = asked(
        Param("csat_event", "the survey answer event whose property is the score"), default=None
    )
    csat_property: str = asked(
        Param("csat_property", "the score's property", default="score"), default="score"
    )
    csat_trait: str | None = asked(
        Param("csat_trait", "or: the trait holding each person's latest score"), default=None
    )
    satisfied_at: float = asked(
        Param("satisfied_at", "a score at or above this is satisfied", "number", 4.0, -1e9, 1e9),
        default=4.0,
    )
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)

    def funnel(self, names: tuple[str, ...]) -> FunnelSpec | None:
        if not self.steps:
            return None
        return FunnelSpec(
            steps=self.steps,
            date_from=self.date_from,
            date_to=self.date_to,
            window=self.window,
            mode=self.mode,
            breakdown=Breakdown("segment", segments=names) if names else None,
            breakdown_limit=100,
            include_bots=self.include_bots,
        )

    def validate(self) -> ScorecardSpec:
        check_range(self.date_from, self.date_to)
        check_segments(self.segments)
        funnel = self.funnel(())  # its steps, window and mode; the segments are checked above
        if funnel is not None:
            funnel.validate()
        for name, value in (
            ("purchase_event", self.purchase_event),
            ("csat_event", self.csat_event),
        ):
            if value is not None and not 0 < len(value) <= 200:
                raise SpecError(name, "an event name of 1 to 200 characters")
        for name, value in (
            ("revenue_property", self.revenue_property),
            ("csat_property", self.csat_property),
            ("csat_trait", self.csat_trait),
        ):
            if value is not None:
                check_property(value, name)
        if self.csat_event and self.csat_trait:
            raise SpecError("csat_trait", "answers come from csat_event or csat_trait, not both")
        if not 1 <= self.retention_days <= 90:
            raise SpecError("retention_days", "from 1 to 90 days")
        check_timeout(self.session_timeout_minutes)
        if not math.isfinite(self.satisfied_at):
            raise SpecError("satisfied_at", "a number")
        return self


def _ratio(s: dict[str, float]) -> Estimate:
    """Events per session: a ratio of two per-person sums (delta method)."""
    return statistics.ratio(
        int(s["people"]),
        s["events"],
        s["sessions"],
        s["events_sq"],
        s["sessions_sq"],
        s["events_sessions"],
    )


# The metrics that are proportions (the others are means and ratios).
SHARE_METRICS = ("conversion", "retention", "purchase_rate", "csat_satisfied")

# metric -> how its estimate comes from a segment's sums
METRICS: dict[str, Any] = {
    "conversion": lambda s: share(s["converted"], s["entered"]),
    "sessions_per_person": lambda s: mean(s["sessions"], s["sessions_sq"], int(s["people"])),
    "events_per_session": _ratio,
    "active_days_per_person": lambda s: mean(
        s["active_days"], s["active_days_sq"], int(s["people"])
    ),
    "retention": lambda s: share(s["returned"], s["eligible"]),
    "purchase_rate": lambda s: share(s["buyers"], s["people"]),
    "revenue_per_person": lambda s: mean(s["revenue"], s["revenue_sq"], int(s["people"])),
    "csat_mean": lambda s: mean(s["score"], s["score_sq"], int(s["responses"])),
    "csat_satisfied": lambda s: share(s["satisfied"], s["responses"]),
}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class SegmentScore:
    segment: str
    people: int
    sessions_per_person: float | None
    events_per_session: float | None
    active_days_per_person: float | None
    retention: float | None
    retention_eligible: int
    buyers: int
    purchase_rate: float | None
    revenue: float
    revenue_per_person: float | None
    revenue_per_buyer: float | None
    funnel_entered: int
    funnel_converted: int
    conversion: float | None
    csat_responses: int
    csat_mean: float | None
    csat_satisfied: float | None
    sums: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, segment: str, s: dict[str, float]) -> SegmentScore:
        value = {name: _round(METRICS[name](s).value) for name in METRICS}
        return cls(
            segment=segment,
            people=int(s["people"]),
            sessions_per_person=value["sessions_per_person"],
            events_per_session=value["events_per_session"],
            active_days_per_person=value["active_days_per_person"],
            retention=value["retention"],
            retention_eligible=int(s["eligible"]),
            buyers=int(s["buyers"]),
            purchase_rate=value["purchase_rate"],
            revenue=round(s["revenue"], 2),
            revenue_per_person=_round(value["revenue_per_person"], 2),
            revenue_per_buyer=round(s["revenue"] / s["buyers"], 2) if s["buyers"] else None,
            funnel_entered=int(s["entered"]),
            funnel_converted=int(s["converted"]),
            conversion=value["conversion"],
            csat_responses=int(s["responses"]),
            csat_mean=value["csat_mean"],
            csat_satisfied=value["csat_satisfied"],
            sums=s,
        )

    def row(self) -> dict[str, Any]:
        """The figures without the sums: a table row."""
        return {k: v for k, v in asdict(self).items() if k != "sums"}


@dataclass
class Scorecard:
    date_from: str
    date_to: str
    segments: list[SegmentScore]
    funnel: list[str]  # the funnel's step events ([] without one)
    membership: dict[str, int]  # family -> the refresh its membership is from (ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "funnel": self.funnel,
            "membership": self.membership,
            "segments": [s.row() for s in self.segments],
        }


def refreshed_segments(store: Store) -> tuple[str, ...]:
    """Every defined segment with a refreshed membership, by name."""
    done = refreshed(store)
    return tuple(sorted(n for n in stored(store) if n in done))


def person_sql(
    store: Store, spec: ScorecardSpec, names: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """Per person active in the period: ``segs`` (their segments of ``names``) and the
    figures the sums are made of."""
    query = Query()
    query.update(
        {
            "from_s": int(spec.date_from.timestamp()),
            "to_s": int(spec.date_to.timestamp()),
            "to_ms": int(spec.date_to.timestamp() * 1000),
            "purchase_event": spec.purchase_event,
            "revenue_property": spec.revenue_property,
            "retention_days": spec.retention_days,
            "session_timeout_ms": spec.session_timeout_minutes * 60_000,
            "satisfied_at": float(spec.satisfied_at),
            "csat_event": spec.csat_event or "",
            "csat_property": spec.csat_property,
        }
    )
    answer = (
        f"type = 'track' AND event = %(csat_event)s AND {has_property('csat_property')}"
        if spec.csat_event
        else "0"
    )
    fields = {
        "rev": purchase_amount(),
        "answered": f"toUInt8({answer})",
        "score": f"if({answer}, {number_property('csat_property')}, 0.)",
    }
    where = (
        f"{BEHAVIOUR} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s)"
    )
    # Arrays enter lambdas as arguments (old servers mishandle columns captured by a lambda).
    per_person = f"""SELECT person_id,
            length(times) AS events,
            arraySum({boundaries()}) AS sessions,
            arrayMap(t -> intDiv(t, {DAY_MS}), times) AS days,
            length(arrayDistinct(days)) AS active_days,
            days[1] AS first_day,
            toUInt8((first_day + %(retention_days)s + 1) * {DAY_MS} <= %(to_ms)s) AS eligible,
            toUInt8(arrayExists((d, f) -> d > f AND d <= f + %(retention_days)s,
                                days, arrayMap(d -> first_day, days))) AS returned,
            arrayCount(r -> r >= 0, rev) AS purchases,
            arraySum(arrayMap(r -> if(r > 0, r, 0.), rev)) AS revenue,
            arrayCount(a -> a = 1, answered) AS responses,
            arraySum(arrayMap((x, a) -> if(a = 1, x, 0.), score, answered)) AS score_sum,
            arraySum(arrayMap((x, a) -> if(a = 1, x * x, 0.), score, answered)) AS score_sq,
            arrayCount((x, a) -> a = 1 AND x >= %(satisfied_at)s, score, answered) AS satisfied
        FROM {timelines(store.database, fields, where, include_bots=spec.include_bots)}"""
    if spec.csat_trait:
        f = Features(
            store.database,
            spec.date_to,
            spec.purchase_event,
            spec.revenue_property,
            include_bots=spec.include_bots,
        )
        trait = f.trait(spec.csat_trait)
        query.update(f.query.values)
        per_person = f"""SELECT person_id, events, sessions, active_days, eligible, returned,
                purchases, revenue, toUInt64(has_score) AS responses,
                if(has_score, trait_score, 0.) AS score_sum,
                if(has_score, trait_score * trait_score, 0.) AS score_sq,
                toUInt64(has_score AND trait_score >= %(satisfied_at)s) AS satisfied
            FROM (SELECT * FROM ({per_person}) AS p ANY LEFT JOIN
                  (SELECT person_id, toUInt8(isNotNull(toFloat64OrNull(t))) AS has_score,
                          ifNull(toFloat64OrNull(t), 0.) AS trait_score
                   FROM (SELECT person_id, t FROM {f.sql({"t": trait})})) AS t USING person_id)"""
    members = members_sql(store.database, list(names), query) if names else None
    if members is None:
        return f"SELECT *, CAST([] AS Array(String)) AS segs FROM ({per_person})", query.values
    return (
        f"SELECT * FROM ({per_person}) AS pp ANY LEFT JOIN {members} AS m USING person_id",
        query.values,
    )


_SUM_SQL = """count(), sum(events), sum(events * events), sum(sessions), sum(sessions * sessions),
    sum(events * sessions), sum(active_days), sum(active_days * active_days), sum(eligible),
    sum(returned * eligible), sum(purchases), countIf(purchases > 0), sum(revenue),
    sum(revenue * revenue), sum(responses), sum(score_sum), sum(score_sq), sum(satisfied)"""


def sums(store: Store, spec: ScorecardSpec, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Segment -> the sums of ``SUMS`` (``ALL`` for everyone active in the period)."""
    sql, params = person_sql(store, spec, names)
    rows = store.execute(
        f"SELECT segment, {_SUM_SQL} FROM (SELECT *, "
        f"arrayJoin(arrayConcat([%(all)s], segs)) AS segment FROM ({sql})) GROUP BY segment",
        {**params, "all": ALL},
    )
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        values = dict(zip(QUERIED, (float(v or 0) for v in row[1:]), strict=True))
        out[str(row[0])] = {**values, **dict.fromkeys(FROM_FUNNEL, 0.0)}
    funnel = spec.funnel(names)
    if funnel is not None:
        report = analyze(store, funnel)
        groups = [(ALL, report.steps)] + [(g.value, g.steps) for g in report.breakdown]
        for segment, steps in groups:
            if segment == NONE:
                continue
            target = out.setdefault(segment, dict.fromkeys(SUMS, 0.0))
            target["entered"], target["converted"] = steps[0].people, steps[-1].people
    return out


def scorecard(store: Store, spec: ScorecardSpec) -> Scorecard:
    """The scorecard of ``spec``'s segments (every refreshed one by default) over its period."""
    spec.validate()
    names = spec.segments or refreshed_segments(store)
    check_refreshed(store, listed("segments", names))
    found = sums(store, spec, names)
    families = sorted({n.split("/", 1)[0] for n in names})
    db = identifier(store.database)
    refreshes = (
        dict(
            store.execute(
                f"SELECT segment, max(refresh) FROM {db}.segment_refreshes "
                "WHERE has(%(f)s, segment) GROUP BY segment",
                {"f": families},
            )
        )
        if families
        else {}
    )
    order = [ALL] + sorted(k for k in found if k != ALL)
    return Scorecard(
        date_from=spec.date_from.isoformat(),
        date_to=spec.date_to.isoformat(),
        segments=[SegmentScore.of(k, found.get(k, dict.fromkeys(SUMS, 0.0))) for k in order],
        funnel=[s.event for s in spec.steps],
        membership={str(k): int(v) for k, v in refreshes.items()},
    )


@dataclass(frozen=True)
class Change:
    segment: str
    metric: str
    before: float | None
    after: float | None
    difference: float | None
    ci_low: float | None  # 95% interval of the difference
    ci_high: float | None
    relative: float | None  # difference / before
    p_value: float | None
    significant: bool
    n_before: int
    n_after: int
    note: str


def change(segment: str, metric: str, a: Estimate, b: Estimate, min_sample: int) -> Change:
    """Period ``a`` (before) against ``b`` (after): the difference with its 95% interval."""
    diff = None if a.value is None or b.value is None else b.value - a.value
    note = ""
    low = high = p = None
    if diff is None:
        note = "no data in one period"
    elif min(a.n, b.n) < min_sample:
        note = f"fewer than {min_sample} in a period: not tested"
    elif a.se is None or b.se is None:
        note = "no spread to test"
    else:
        tested = statistics.difference(a, b)
        assert tested is not None  # values and spreads are there
        low, high, p = tested.low, tested.high, tested.p_value
    return Change(
        segment=segment,
        metric=metric,
        before=_round(a.value),
        after=_round(b.value),
        difference=_round(diff),
        ci_low=_round(low),
        ci_high=_round(high),
        relative=_round(diff / a.value) if diff is not None and a.value else None,
        p_value=_round(p, 6),
        significant=p is not None and p < 0.05 and diff != 0,
        n_before=a.n,
        n_after=b.n,
        note=note,
    )


@dataclass
class Comparison:
    before: Scorecard
    after: Scorecard
    changes: list[Change]

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "changes": [asdict(c) for c in self.changes],
        }


def compare(
    store: Store, before: ScorecardSpec, after: ScorecardSpec, min_sample: int = MIN_SAMPLE
) -> Comparison:
    """A segment's figures in two periods (``before`` and ``after`` differ only in their
    dates): every metric's change with its interval; membership is the latest for both."""
    first, second = scorecard(store, before), scorecard(store, after)
    after_by = {s.segment: s for s in second.segments}
    changes = []
    for s in first.segments:
        other = after_by.get(s.segment)
        if other is None:
            continue
        for metric, estimate in METRICS.items():
            if metric == "conversion" and not before.steps:
                continue
            if metric.startswith("csat") and not (before.csat_event or before.csat_trait):
                continue
            changes.append(
                change(s.segment, metric, estimate(s.sums), estimate(other.sums), min_sample)
            )
    return Comparison(first, second, changes)

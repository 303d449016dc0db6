"""Retention by cohort, and lifecycle (new, returning, resurrecting, dormant).

Periods are UTC days, weeks (from Monday) or months. A cohort is the period a person did the
start event: the first time ever (``first_time``), or every period they did it (``recurring``:
a person belongs to each such cohort). A person is retained in period N of their cohort when
they did the return event in that period; period 0 is the cohort itself. Revenue retention
(``measure`` sum) adds, per cohort and period, the sum of a property over every return event
of the cohort's people in that period (period 0: from the range's start on), and that per
person of the cohort.

Lifecycle, per period and for one event: *new* people did it for the first time ever;
*returning* did it in this period and the one before; *resurrecting* did it now, not in the
period before, but at some time earlier; *dormant* did it in the period before and not now
(reported as a negative count, as it is drawn).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import number_property
from analyzer.membership import check_refreshed, restrict
from analyzer.parameters import BOTS, IN_SEGMENT, SINCE, STEP, UNTIL, Param, asked
from analyzer.query import Query
from analyzer.timeline import timelines
from analyzer.vocabulary import Step, check_property, check_range, check_segment
from storage.store import Store

PERIODS = {
    "day": ("toDate", "toRelativeDayNum"),
    "week": ("toMonday", "toRelativeWeekNum"),
    "month": ("toStartOfMonth", "toRelativeMonthNum"),
}
MODES = ("first_time", "recurring")
MEASURES = ("people", "sum")
MAX_PERIODS = 366


def _number(period: str, ms: str) -> str:
    return f"{PERIODS[period][1]}(toDateTime(intDiv({ms}, 1000), 'UTC'))"


def period_starts(period: str, date_from: datetime, date_to: datetime) -> list[date]:
    """The first day of every period that overlaps [date_from, date_to)."""
    day = date_from.astimezone(UTC).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    last = (date_to.astimezone(UTC) - timedelta(microseconds=1)).date()
    out = []
    while day <= last:
        out.append(day)
        if period == "day":
            day += timedelta(days=1)
        elif period == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _numbers(store: Store, period: str, days: list[date]) -> dict[int, date]:
    """ClickHouse's period number of each period start."""
    if not days:
        return {}
    fn = PERIODS[period][1]
    rows = store.execute(
        f"SELECT {fn}(toDateTime(d, 'UTC')) AS n, d FROM (SELECT arrayJoin(%(days)s) AS d)",
        {"days": [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]},
    )
    return {int(n): (d.date() if isinstance(d, datetime) else d) for n, d in rows}


PERIOD_CHOICE = ("day", "week", "month")


@dataclass(frozen=True)
class RetentionSpec:
    start: Step = asked(Param("start_event", f"the cohort's event: {STEP}", "step", required=True))
    returning: Step = asked(
        Param("return_event", f"the returning event: {STEP}", "step", required=True)
    )
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    period: str = asked(
        Param("period", "the cohorts' period", "choice", "week", choices=PERIOD_CHOICE),
        default="week",
    )
    periods: int = asked(  # after the cohort's own period
        Param("periods", "periods after the cohort's own", "integer", 8, 1, 120), default=8
    )
    mode: str = asked(
        Param(
            "mode",
            "first_time: the first return; recurring: any return",
            "choice",
            "first_time",
            choices=MODES,
        ),
        default="first_time",
    )
    # only the members of this segment (or name/group)
    segment: str | None = asked(IN_SEGMENT, default=None)
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)
    # besides people: the sum of a property of the returning events in each period (revenue)
    measure: str = asked(
        Param(
            "measure",
            "people, or people and the sum of --property over the returning events (revenue "
            "retention)",
            "choice",
            "people",
            choices=MEASURES,
        ),
        default="people",
    )
    property: str | None = asked(
        Param("property", "with measure sum: a numeric property of the returning event"),
        default=None,
    )

    def validate(self) -> RetentionSpec:
        self.start.validate("start")
        self.returning.validate("returning")
        if self.period not in PERIODS:
            raise SpecError("period", f"{self.period!r} is not one of {', '.join(PERIODS)}")
        if not isinstance(self.periods, int) or not 1 <= self.periods <= 120:
            raise SpecError("periods", "from 1 to 120")
        if self.mode not in MODES:
            raise SpecError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        check_range(self.date_from, self.date_to)
        if len(period_starts(self.period, self.date_from, self.date_to)) > MAX_PERIODS:
            raise SpecError("date_from", f"at most {MAX_PERIODS} cohorts; choose a longer period")
        if self.segment is not None:
            check_segment(self.segment, "segment")
        if self.measure not in MEASURES:
            raise SpecError("measure", f"{self.measure!r} is not one of {', '.join(MEASURES)}")
        if self.measure == "sum":
            check_property(self.property, "property")
        elif self.property is not None:
            raise SpecError("property", "only with measure sum")
        return self


@dataclass(frozen=True)
class Cohort:
    period: date
    people: int
    retained: list[int]  # period 0 (the cohort) to ``periods``
    rates: list[float]
    # with measure sum: the property's sum over the returning events of each period (from
    # ``since`` on in period 0), and that per person of the cohort
    sums: list[float] | None = None
    per_person: list[float] | None = None


@dataclass
class RetentionReport:
    period: str
    mode: str
    cohorts: list[Cohort] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def retention(store: Store, spec: RetentionSpec) -> RetentionReport:
    spec.validate()
    check_refreshed(store, {"segment": spec.segment})
    query = Query()
    query.update(
        {
            "from_ms": int(spec.date_from.timestamp() * 1000),
            "to_ms": int(spec.date_to.timestamp() * 1000),
            "to_s": int(spec.date_to.timestamp()),
            "from_s": int(spec.date_from.timestamp()),
            "periods": spec.periods,
        }
    )
    start, back = query.step(spec.start), query.step(spec.returning)
    days = period_starts(spec.period, spec.date_from, spec.date_to)
    length = {"day": 1, "week": 7, "month": 31}[spec.period]
    until = spec.date_to + timedelta(days=length * (spec.periods + 1))
    query.bind("until_s", int(until.timestamp()))
    # first-time cohorts need every earlier start, to know which one was the first
    start_from = "1" if spec.mode == "first_time" else "timestamp >= toDateTime(%(from_s)s)"
    where = (
        f"({start} AND {start_from} AND timestamp < toDateTime(%(to_s)s)) OR "
        f"({back} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(until_s)s))"
    )
    fields = {"sm": f"toUInt8({start})", "rm": f"toUInt8({back})"}
    if spec.measure == "sum":
        assert spec.property is not None
        value = number_property(query.name(spec.property, "property"))
        fields["rv"] = f"if({back}, {value}, 0.)"
    source = restrict(
        timelines(
            store.database,
            fields,
            where,
            ids=False,  # segments are joined on the person's hash (analyzer.membership)
            include_bots=spec.include_bots,
        ),
        store.database,
        spec.segment,
        query,
    )
    starts = "arrayFilter((t, s) -> s = 1, times, sm)"
    if spec.mode == "first_time":
        cohorts = (
            f"if(notEmpty({starts}) AND {starts}[1] >= %(from_ms)s AND {starts}[1] < %(to_ms)s, "
            f"[{_number(spec.period, f'{starts}[1]')}], emptyArrayUInt32())"
        )
    else:
        in_range = "arrayFilter((t, s) -> s = 1 AND t >= %(from_ms)s AND t < %(to_ms)s, times, sm)"
        numbers = f"arrayMap(t -> {_number(spec.period, 't')}, {in_range})"
        cohorts = f"arrayFilter((x, u) -> u = 1, {numbers}, arrayEnumerateUniq({numbers}))"
    returns = f"arrayMap(t -> {_number(spec.period, 't')}, arrayFilter((t, r) -> r = 1, times, rm))"
    sql = (
        "SELECT c, o, count() FROM ("
        "SELECT c, arrayJoin(arrayConcat([toInt64(0)], arrayFilter((x, u) -> u = 1, offsets, "
        "arrayEnumerateUniq(offsets)))) AS o FROM ("
        "SELECT c, arrayFilter(x -> x > 0 AND x <= %(periods)s, "
        "arrayMap((r, k) -> toInt64(r) - toInt64(k), rs, arrayResize([c], length(rs), c))) "
        "AS offsets FROM ("
        f"SELECT arrayJoin({cohorts}) AS c, {returns} AS rs FROM {source}))) "
        "GROUP BY c, o ORDER BY c, o"
    )
    by_number = _numbers(store, spec.period, days)
    counts: dict[int, dict[int, int]] = {}
    for c, o, n in store.execute(sql, query.values):
        counts.setdefault(int(c), {})[int(o)] = int(n)
    sums: dict[int, dict[int, float]] = {}
    if spec.measure == "sum":
        # each returning event's value in the period it falls in, from the cohort's own on
        # returns from the range's start on, as people are counted (first-time cohorts read
        # earlier starts too, and a start can be a return)
        kept = "r = 1 AND t >= %(from_ms)s"
        values = f"arrayFilter((v, r, t) -> {kept}, rv, rm, times)"
        periods = (
            f"arrayMap(t -> {_number(spec.period, 't')}, arrayFilter((t, r) -> {kept}, times, rm))"
        )
        found = store.execute(
            "SELECT c, tupleElement(x, 1) AS o, sum(tupleElement(x, 2)) FROM ("
            "SELECT c, arrayJoin(arrayFilter(y -> tupleElement(y, 1) >= 0 "
            "AND tupleElement(y, 1) <= %(periods)s, "
            "arrayMap((r, w, k) -> (toInt64(r) - toInt64(k), w), rs, vs, "
            "arrayResize([c], length(rs), c)))) AS x FROM ("
            f"SELECT arrayJoin({cohorts}) AS c, {periods} AS rs, {values} AS vs FROM {source})) "
            "GROUP BY c, o ORDER BY c, o",
            query.values,
        )
        for c, o, total in found:
            sums.setdefault(int(c), {})[int(o)] = float(total)
    report = RetentionReport(period=spec.period, mode=spec.mode)
    for number, day in sorted(by_number.items()):
        row = counts.get(number, {})
        size = row.get(0, 0)
        retained = [row.get(i, 0) for i in range(spec.periods + 1)]
        cohort = Cohort(day, size, retained, [r / size if size else 0.0 for r in retained])
        if spec.measure == "sum":
            summed = [sums.get(number, {}).get(i, 0.0) for i in range(spec.periods + 1)]
            per_person = [s / size if size else 0.0 for s in summed]
            cohort = replace(cohort, sums=summed, per_person=per_person)
        report.cohorts.append(cohort)
    return report


@dataclass(frozen=True)
class LifecyclePeriod:
    period: date
    new: int
    returning: int
    resurrecting: int
    dormant: int  # negative


STATUSES = ("new", "returning", "resurrecting", "dormant")


@dataclass(frozen=True)
class LifecycleSpec:
    event: Step = asked(Param("event", f"the activity: {STEP}", "step", required=True))
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    period: str = asked(
        Param("period", "the period", "choice", "week", choices=PERIOD_CHOICE), default="week"
    )
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)

    def validate(self) -> LifecycleSpec:
        self.event.validate("event")
        if self.period not in PERIODS:
            raise SpecError("period", f"{self.period!r} is not one of {', '.join(PERIODS)}")
        check_range(self.date_from, self.date_to)
        if len(period_starts(self.period, self.date_from, self.date_to)) > MAX_PERIODS:
            raise SpecError("date_from", f"at most {MAX_PERIODS} periods; choose a longer period")
        return self


def lifecycle(store: Store, spec: LifecycleSpec) -> list[LifecyclePeriod]:
    """People doing the spec's event per period, by lifecycle status (bots' events only with
    ``include_bots``)."""
    spec.validate()
    event, date_from, date_to = spec.event, spec.date_from, spec.date_to
    period, include_bots = spec.period, spec.include_bots
    days = period_starts(period, date_from, date_to)
    query = Query()
    query.bind("to_s", int(date_to.timestamp()))
    cond = query.step(event)
    by_number = _numbers(store, period, days)
    query.update({"first": min(by_number), "last": max(by_number)})
    source = timelines(
        store.database,
        {},
        f"{cond} AND timestamp < toDateTime(%(to_s)s)",
        False,
        None,
        include_bots,
    )
    numbers = f"arrayMap(t -> toInt64({_number(period, 't')}), times)"
    sql = (
        "SELECT tupleElement(s, 1) AS p, tupleElement(s, 2) AS status, count() FROM ("
        "SELECT arrayJoin(arrayConcat("
        "arrayMap((a, prev, i) -> (a, multiIf(i = 1, 'new', prev = a - 1, 'returning', "
        "'resurrecting')), active, arrayPopBack(arrayPushFront(active, toInt64(0))), "
        "arrayEnumerate(active)), "
        "arrayMap(a -> (a + 1, 'dormant'), arrayFilter((a, nxt) -> nxt != a + 1, active, "
        "arrayPopFront(arrayPushBack(active, toInt64(0))))))) AS s FROM ("
        f"SELECT arraySort(arrayFilter((x, u) -> u = 1, {numbers}, arrayEnumerateUniq({numbers}))) "
        f"AS active FROM {source})) "
        "WHERE p >= %(first)s AND p <= %(last)s GROUP BY p, status"
    )
    counts: dict[int, dict[str, int]] = {}
    for p, status, n in store.execute(sql, query.values):
        counts.setdefault(int(p), {})[str(status)] = int(n)
    return [
        LifecyclePeriod(
            day,
            counts.get(number, {}).get("new", 0),
            counts.get(number, {}).get("returning", 0),
            counts.get(number, {}).get("resurrecting", 0),
            -counts.get(number, {}).get("dormant", 0),
        )
        for number, day in sorted(by_number.items())
    ]

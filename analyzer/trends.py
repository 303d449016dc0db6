"""Trends: how many did something over time, per segment or value, beside the period before.

For an event or a touchpoint set (a ``Step``), per hour, day, week or month: the number of
events, of unique people (identity-stitched), or the sum or average of a numeric property;
broken down by an event column or property, or a person trait (``person.<trait>``: the
person's latest non-empty identify value up to the period's end, one value per person for
both periods, as a funnel breakdown by it takes it) (the top ``top`` values by the measure,
the rest as ``(other)``) or by segments (a person counting in each of theirs; ``(none)`` for people in
none of them). The previous period of the same length comes alongside, bucket by bucket, and
each series has its total over the whole period (for people: distinct over the period, not a
sum of the buckets). Each event counts once (``LIMIT 1 BY event_key``; counting people, the
events are first narrowed to one row per id and bucket) and bots are left out unless asked
for.

Buckets are counted from the period's start (an hour, a day or a week long), or are calendar
months (the first one starting at the period's start); the previous period's buckets are
counted from its own start, so bucket i of both periods lines up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import has_trait, humans, trait_text
from analyzer.identity import PERSON, persons
from analyzer.membership import check_refreshed, members_sql, named_segments, only_members
from analyzer.parameters import BOTS, BREAKDOWN, IN_SEGMENT, SINCE, STEP, UNTIL, Param, asked
from analyzer.query import Query
from analyzer.timeline import ORDER
from analyzer.vocabulary import (
    Breakdown,
    Step,
    check_property,
    check_range,
    check_segment,
    shown_value,
)
from storage.sql import identifier
from storage.store import Store

INTERVALS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 0}
MEASURES = ("events", "people", "sum", "average")
ALL, OTHER, NONE = "(all)", "(other)", "(none)"
MAX_BUCKETS = 2000


@dataclass(frozen=True)
class TrendSpec:
    event: Step = asked(  # an event or a resolved touchpoint set
        Param(
            "event", f"what is counted, an event or a touchpoint set: {STEP}", "step", required=True
        )
    )
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    interval: str = asked(
        Param("interval", "the buckets", "choice", "day", choices=tuple(INTERVALS)), default="day"
    )
    measure: str = asked(
        Param(
            "measure",
            "events, unique people, or the sum or average of --property",
            "choice",
            "events",
            choices=MEASURES,
        ),
        default="events",
    )
    property: str | None = asked(  # with sum and average: a numeric property path
        Param("property", "with measure sum or average: a numeric property path"), default=None
    )
    # a column, properties.<path>, person.<trait>, segments
    breakdown: Breakdown | None = asked(BREAKDOWN, default=None)
    top: int = asked(
        Param("top", "breakdown values shown; the rest are (other)", "integer", 5, 1, 50),
        default=5,
    )
    # only the members of this segment (or name/group)
    segment: str | None = asked(IN_SEGMENT, default=None)
    include_bots: bool = asked(BOTS, default=False)

    def buckets(self, start: datetime) -> list[datetime]:
        """The start of each bucket of the period beginning at ``start``."""
        if self.interval != "month":
            size = timedelta(seconds=INTERVALS[self.interval])
            n = -(-(self.date_to - self.date_from) // size)
            return [start + i * size for i in range(n)]
        end = start + (self.date_to - self.date_from)
        out, month = [start], _month(start)
        while (nxt := _add_months(month, len(out))) < end:
            out.append(nxt)
        return out

    def validate(self) -> TrendSpec:
        self.event.validate("event")
        check_range(self.date_from, self.date_to)
        if self.interval not in INTERVALS:
            raise SpecError("interval", f"{self.interval!r} is not one of {', '.join(INTERVALS)}")
        if len(self.buckets(self.date_from)) > MAX_BUCKETS:
            raise SpecError("interval", f"at most {MAX_BUCKETS} buckets; choose a longer one")
        if self.measure not in MEASURES:
            raise SpecError("measure", f"{self.measure!r} is not one of {', '.join(MEASURES)}")
        if self.measure in ("sum", "average"):
            check_property(self.property, "property")
        elif self.property is not None:
            raise SpecError("property", "only with measure sum or average")
        b = self.breakdown
        if b is not None:
            if b.attribution != "first_touch":
                raise SpecError(
                    "breakdown",
                    "a column or properties.<path> (each event's own), or person.<trait> "
                    "(the person's)",
                )
            b.validate(1)
        if not isinstance(self.top, int) or not 1 <= self.top <= 50:
            raise SpecError("top", "from 1 to 50 values")
        if self.segment is not None:
            check_segment(self.segment, "segment")
        return self


def _month(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add_months(at: datetime, n: int) -> datetime:
    months = at.year * 12 + at.month - 1 + n
    return at.replace(year=months // 12, month=months % 12 + 1)


@dataclass(frozen=True)
class Series:
    value: str  # ALL, a breakdown value, OTHER or NONE
    points: list[float | None]  # per bucket of the period
    previous: list[float | None]  # per bucket of the previous period
    total: float | None  # over the whole period
    previous_total: float | None


@dataclass
class TrendReport:
    measure: str
    interval: str
    buckets: list[datetime]
    previous_buckets: list[datetime]
    series: list[Series] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MEASURE_SQL = {
    "events": "toFloat64(count())",
    "people": "toFloat64(uniqExact(person))",
    "sum": "ifNull(sum(_n), 0.)",  # over the events having the property
    "average": "avg(_n)",
}


class _Query:
    def __init__(self, spec: TrendSpec, database: str) -> None:
        self.spec = spec
        self.db = database
        length = spec.date_to - spec.date_from
        self.previous_from = spec.date_from - length
        self.query = Query(
            {
                "from_s": int(spec.date_from.timestamp()),
                "to_s": int(spec.date_to.timestamp()),
                "prev_s": int(self.previous_from.timestamp()),
                "other": OTHER,
                "none": NONE,
            }
        )
        self.by_segment = spec.breakdown is not None and spec.breakdown.field == "segment"
        self.by_trait = spec.breakdown is not None and spec.breakdown.field.startswith("person.")
        if self.by_trait:
            assert spec.breakdown is not None
            self.query.bind("trait", spec.breakdown.field.split(".", 1)[1])

    def traits(self) -> str:
        """A subquery ``person, _tv``: each person's latest non-empty value of the trait in
        their identify calls before the period's end (bots' too only with ``include_bots``)."""
        calls = (
            f"(SELECT identity_key, {ORDER} AS _o, {trait_text('trait')} AS _t "
            f"FROM {identifier(self.db)}.events WHERE type = 'identify' "
            f"AND timestamp < toDateTime(%(to_s)s) AND {has_trait('trait')} "
            f"AND {trait_text('trait')} != '' AND {humans(self.spec.include_bots)})"
        )
        return (
            f"(SELECT person, argMax(_t, _o) AS _tv FROM (SELECT {PERSON} AS person, _o, _t "
            f"FROM {calls} AS c ANY LEFT JOIN {persons(self.db)} AS p USING identity_key) "
            "GROUP BY person)"
        )

    def _read(self, query: Query) -> str:
        """SQL ``FROM ... WHERE``: the events of the trend's event or set in either period
        (its values bound in ``query``), never a bot's unless asked for."""
        spec = self.spec
        return (
            f"FROM {identifier(self.db)}.events WHERE timestamp >= toDateTime(%(prev_s)s) "
            f"AND timestamp < toDateTime(%(to_s)s) AND ({query.step(spec.event)}) "
            f"AND {humans(spec.include_bots)}"
        )

    def events(self) -> str:
        """One row per event of either period: its person, bucket, number and value."""
        spec, query = self.spec, self.query
        number = "toFloat64(0)"
        if spec.property is not None:
            number = f"toFloat64OrNull({query.field('properties.' + spec.property)})"
        value = "''"
        if spec.breakdown is not None and not self.by_segment and not self.by_trait:
            value = query.fields(spec.breakdown.fields)
        prev = "timestamp < toDateTime(%(from_s)s)"
        start = "if(_prev, %(prev_s)s, %(from_s)s)"
        if spec.interval == "month":
            bucket = (
                "toInt64(toRelativeMonthNum(timestamp)) - "
                f"toInt64(toRelativeMonthNum(toDateTime({start})))"
            )
        else:
            bucket = f"intDiv(toInt64(toUInt32(timestamp)) - {start}, {INTERVALS[spec.interval]})"
        picked = f"identity_key, {prev} AS _prev, {bucket} AS _b"
        where = self._read(query)
        if spec.measure == "people":
            # who, not how often: one row per id, period, bucket and value (copies of an event
            # and a person's further events there change nothing), so far fewer rows meet the
            # identity links and segments (3.2 -> 2.2 s for a daily trend by segment, 10 M set)
            rows = f"(SELECT {picked}, toFloat64(0) AS _n, {value} AS _v {where} "
            rows += "GROUP BY identity_key, _prev, _b, _v)"
        else:
            rows = f"(SELECT event_key, {picked}, {number} AS _n, {value} AS _v {where} "
            rows += "LIMIT 1 BY event_key)"
        joined = (
            f"(SELECT _prev, _b, _n, _v, {PERSON} AS person"
            f" FROM {rows} AS e ANY LEFT JOIN {persons(self.db)} AS p USING identity_key)"
        )
        if spec.segment is not None:
            members = only_members(self.db, spec.segment, query)
            joined = f"(SELECT * FROM {joined} WHERE {members})"
        if self.by_trait:  # one JOIN per SELECT on old servers
            joined = (
                f"(SELECT _prev, _b, _n, _tv AS _v, person FROM (SELECT _prev, _b, _n, person "
                f"FROM {joined}) AS j ANY LEFT JOIN {self.traits()} AS t USING person)"
            )
        if self.by_segment:
            assert spec.breakdown is not None
            members = members_sql(self.db, spec.breakdown.segments, query, hashed=True)
            # the person's segments as an array: the event counts once for everyone
            joined = (
                f"(SELECT _prev, _b, _n, if(empty(segs), [%(none)s], segs) AS _vs, "
                f"person FROM {joined} AS j ANY LEFT JOIN {members} AS m USING person)"
            )
        return joined

    def few_values(self, store: Store) -> bool:
        """Whether the breakdown has at most ``top`` values in both periods together: a
        cheap look at the events (no people, no deduplication; it stops at one more value),
        after which one read of the events gives every value's series and their order."""
        spec, query = self.spec, Query(dict(self.query.values))  # a statement of its own
        assert spec.breakdown is not None
        if self.by_trait:  # every value anyone had, and room for people with none
            more = query.bind("more", spec.top)
            rows = store.execute(
                f"SELECT DISTINCT _tv FROM {self.traits()} LIMIT {more}", query.values
            )
            return len(rows) < spec.top
        value = query.fields(spec.breakdown.fields)
        where = self._read(query)
        more = query.bind("more", spec.top + 1)
        rows = store.execute(f"SELECT DISTINCT {value} {where} LIMIT {more}", query.values)
        return len(rows) <= spec.top

    def top(self, store: Store) -> list[str]:
        """The breakdown's ``top`` values by the measure over the period."""
        measure = MEASURE_SQL[self.spec.measure]
        rows = store.execute(
            f"SELECT _v, {measure} AS m FROM {self.events()} WHERE NOT _prev "
            "GROUP BY _v ORDER BY m DESC, _v LIMIT %(top)s",
            {**self.query.values, "top": self.spec.top},
        )
        return [str(v) for v, _ in rows]

    def sql(self, top: list[str] | None) -> str:
        value = "_v"
        if top is not None:
            self.query.values["top_values"] = tuple(top) or ("",)
            value = "if(_v IN %(top_values)s, _v, %(other)s)"
        # each event counts in its bucket and in the whole period (-1), for everyone (0) and,
        # with a breakdown, for its value (1; by segment, once per segment of its person)
        split = "[0]" if self.spec.breakdown is None else "[0, 1]"
        values = f"arrayJoin({split}) AS _split, if(_split = 1, {value}, '') AS _value"
        if self.by_segment:
            values = (
                "arrayJoin(arrayConcat([(0, '')], arrayMap(v -> (1, v), _vs))) AS _sv, "
                "tupleElement(_sv, 1) AS _split, tupleElement(_sv, 2) AS _value"
            )
        return (
            f"SELECT _prev, _bucket, _split, _value, {MEASURE_SQL[self.spec.measure]} "
            f"FROM (SELECT _prev, arrayJoin([toInt64(_b), -1]) AS _bucket, {values}, _n, person "
            f"FROM {self.events()}) GROUP BY _prev, _bucket, _split, _value"
        )


Found = dict[tuple[bool, str | None], dict[int, float | None]]  # (previous, value) -> buckets


def _found(store: Store, q: _Query, top: list[str] | None) -> Found:
    """The measure per (previous period, value: None for everyone) and bucket (-1: total)."""
    found: Found = {}
    for prev, bucket, split, value, measured in store.execute(q.sql(top), q.query.values):
        key = (bool(prev), str(value) if split else None)
        found.setdefault(key, {})[int(bucket)] = None if measured is None else float(measured)
    return found


def _ranked(found: Found) -> list[str]:
    """The values of the period by their total, largest first (then by name; no total last),
    as ``_Query.top`` orders them."""
    totals = {v: b.get(-1) for (prev, v), b in found.items() if not prev and v is not None}
    return sorted(totals, key=lambda v: (totals[v] is None, -(totals[v] or 0.0), v))


def trend(store: Store, spec: TrendSpec) -> TrendReport:
    """The measure of ``spec`` per bucket and breakdown value, now and in the period before."""
    spec.validate()
    check_refreshed(store, named_segments(spec.segment, spec.breakdown))
    q = _Query(spec, store.database)
    top = None
    if spec.breakdown is not None and not q.by_segment and not q.few_values(store):
        top = _Query(spec, store.database).top(store)
    found = _found(store, q, top)
    if spec.breakdown is not None and not q.by_segment and top is None:
        # few values: one read gave each its series, ranked here as top() ranks them; a value
        # of the previous period alone belongs in (other), so that needs the read with it
        top = _ranked(found)
        if any(prev and v is not None and v not in top for prev, v in found):
            q = _Query(spec, store.database)
            found = _found(store, q, top)
    buckets = spec.buckets(spec.date_from)
    previous_buckets = spec.buckets(q.previous_from)
    n = len(buckets)
    empty = None if spec.measure == "average" else 0.0

    def series(value: str | None, label: str) -> Series:
        now, then = found.get((False, value), {}), found.get((True, value), {})
        return Series(
            label,
            [now.get(i, empty) for i in range(n)],
            [then.get(i, empty) for i in range(n)],
            now.get(-1, empty),
            then.get(-1, empty),
        )

    report = TrendReport(spec.measure, spec.interval, buckets, previous_buckets[:n])
    report.series.append(series(None, ALL))
    if spec.breakdown is not None:
        if top is not None:  # the top values in their order, then the rest
            values = [*top, OTHER]
        else:  # segments (a family's groups as they are named), then people in none
            values = sorted({v for _, v in found if v is not None and v != NONE}) + [NONE]
        for value in values:
            if (False, value) in found or (True, value) in found:
                report.series.append(series(value, shown_value(value) or NONE))
    return report

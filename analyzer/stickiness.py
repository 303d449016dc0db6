"""Stickiness: how many days people do something, per week, per month or over the whole range.

For an event or a touchpoint set (a ``Step``): each person (identity-stitched) active in a
period (a week counted from the range's start, a calendar month, or the range itself) is one
observation, counted by the days of that period on which they did it; the answer is, for
everyone and per segment, how many observations had 1, 2, ... days, their share, the average,
and how many people there were. Days are counted from the range's start (midnight of
``since`` in UTC); the last week of a range that is not a whole number of weeks is shorter, as
are the months the range cuts. Bots are left out unless asked for.

PostHog and Amplitude call the range's form stickiness; per week or month it is the "days
active per week" of engagement reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import humans
from analyzer.identity import PERSON, persons
from analyzer.membership import check_refreshed, listed, members_sql, only_members
from analyzer.parameters import BOTS, IN_SEGMENT, SINCE, STEP, UNTIL, Param, asked
from analyzer.query import Query
from analyzer.vocabulary import Step, check_range, check_segment, check_segments
from storage.sql import identifier
from storage.store import Store

EVERYONE = "(everyone)"
PER = ("week", "month", "range")
# the days a period can hold: a week, the longest month; a range, its own length
MOST_DAYS = {"week": 7, "month": 31}


@dataclass(frozen=True)
class StickinessSpec:
    event: Step = asked(  # an event or a resolved touchpoint set
        Param("event", f"what people do, an event or a touchpoint set: {STEP}", "step",
              required=True)
    )  # fmt: skip
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    per: str = asked(
        Param(
            "per",
            "the days counted in each week (from since), each calendar month, or the whole range",
            "choice",
            "week",
            choices=PER,
        ),
        default="week",
    )
    segments: tuple[str, ...] = asked(  # a group per segment (or name/group) besides everyone
        Param("segment", "a group per segment (NAME or NAME/GROUP) besides everyone", many=True),
        default=(),
    )
    segment: str | None = asked(IN_SEGMENT, default=None)  # only the members of this segment
    include_bots: bool = asked(BOTS, default=False)

    def validate(self) -> StickinessSpec:
        self.event.validate("event")
        if self.per not in PER:
            raise SpecError("per", f"{self.per!r} is not one of {', '.join(PER)}")
        check_range(self.date_from, self.date_to)
        check_segments(self.segments, "segments")
        if self.segment is not None:
            check_segment(self.segment, "segment")
        return self

    @property
    def most_days(self) -> int:
        """The most days a period can have."""
        whole = -(-(self.date_to - self.date_from).total_seconds() // 86400)
        return int(MOST_DAYS.get(self.per, whole))


@dataclass(frozen=True)
class Days:
    days: int  # active on this many days of a period
    count: int  # observations (a person in a period) with that many
    share: float  # of the group's observations


@dataclass
class StickinessGroup:
    value: str  # EVERYONE, or a segment (name or name/group)
    people: int  # active at least once in the range
    observations: int  # people in periods they were active in
    average_days: float | None  # days active per observation
    days: list[Days] = field(default_factory=list)  # 1 to most_days, every one listed


@dataclass
class StickinessReport:
    per: str
    most_days: int
    groups: list[StickinessGroup] = field(default_factory=list)  # everyone first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per_person(spec: StickinessSpec, database: str, query: Query) -> str:
    """One row per person and period they were active in: ``groups`` (everyone and their
    segments of ``spec.segments``), ``person`` and ``n``, the days active."""
    db = identifier(database)
    query.update(
        {
            "from_s": int(spec.date_from.timestamp()),
            "to_s": int(spec.date_to.timestamp()),
            "everyone": EVERYONE,
        }
    )
    day = "intDiv(toInt64(toUInt32(timestamp)) - %(from_s)s, 86400)"
    period = {
        "week": "intDiv(_d, 7)",
        "month": "toInt64(toRelativeMonthNum(timestamp)) - "
        "toInt64(toRelativeMonthNum(toDateTime(%(from_s)s)))",
        "range": "0",
    }[spec.per]
    # one row per id, day and period: a day's other events change nothing
    rows = (
        f"(SELECT identity_key, {day} AS _d, {period} AS _p FROM {db}.events "
        "WHERE timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s) "
        f"AND ({query.step(spec.event)}) AND {humans(spec.include_bots)} "
        "GROUP BY identity_key, _d, _p)"
    )
    joined = (
        f"(SELECT {PERSON} AS person, _d, _p FROM {rows} AS e "
        f"ANY LEFT JOIN {persons(database)} AS p USING identity_key)"
    )
    if spec.segment is not None:
        joined = f"(SELECT * FROM {joined} WHERE {only_members(database, spec.segment, query)})"
    per_period = f"(SELECT person, _p, uniqExact(_d) AS n FROM {joined} GROUP BY person, _p)"
    if not spec.segments:
        return f"SELECT [%(everyone)s] AS groups, person, n FROM {per_period}"
    members = members_sql(database, spec.segments, query, hashed=True)
    # one JOIN per SELECT on old servers
    return (
        "SELECT arrayConcat([%(everyone)s], segs) AS groups, person, n "
        f"FROM {per_period} AS x ANY LEFT JOIN {members} AS m USING person"
    )


def stickiness(store: Store, spec: StickinessSpec) -> StickinessReport:
    """Per group, the observations (a person in a period) by days active."""
    spec.validate()
    check_refreshed(store, {**listed("segments", spec.segments), "segment": spec.segment})
    query = Query()
    rows = _per_person(spec, store.database, query)
    found = store.execute(
        f"SELECT grp, n, count() FROM (SELECT arrayJoin(groups) AS grp, n FROM ({rows})) "
        "GROUP BY grp, n ORDER BY grp, n",
        query.values,
    )
    people = dict(
        store.execute(
            "SELECT grp, uniqExact(person) FROM "
            f"(SELECT arrayJoin(groups) AS grp, person FROM ({rows})) GROUP BY grp",
            query.values,
        )
    )
    counts: dict[str, dict[int, int]] = {}
    for grp, n, count in found:
        counts.setdefault(str(grp), {})[int(n)] = int(count)
    report = StickinessReport(spec.per, spec.most_days)
    for value in [EVERYONE, *sorted(g for g in counts if g != EVERYONE)]:
        by_days = counts.get(value, {})
        total = sum(by_days.values())
        report.groups.append(
            StickinessGroup(
                value=value,
                people=int(people.get(value, 0)),
                observations=total,
                average_days=sum(n * c for n, c in by_days.items()) / total if total else None,
                days=[
                    Days(n, by_days.get(n, 0), by_days.get(n, 0) / total if total else 0.0)
                    for n in range(1, spec.most_days + 1)
                ],
            )
        )
    return report

"""The web basics, per segment: sessions, bounce rate, session length, top pages, entry and
exit pages, and traffic sources.

Sessions are a person's events (identity-stitched, each once, bots left out) split after
``session_timeout`` minutes of inactivity (analyzer.sessions), as paths split them. Per
session: its length (first to last event), whether it bounced (one event), its entry and exit
pages (its first and last page view; sessions without one have none) and its source (the
``utm_source`` of its first event, else that event's referrer host, else ``(direct)``).
Top pages count page views and the people who viewed them. Page paths may be cleaned
(``/product/\\d+`` -> ``/product/:id``) as paths clean them. With segments, a person counts
in each of their segments' groups; everyone comes first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR
from analyzer.membership import check_refreshed, listed, members_sql, restrict
from analyzer.parameters import BOTS, IN_SEGMENT, SESSION_TIMEOUT, SINCE, UNTIL, Param, asked
from analyzer.paths import CLEAN, check_cleaning, cleaned
from analyzer.query import Query
from analyzer.sessions import DEFAULT_TIMEOUT_MINUTES, boundaries, check_timeout
from analyzer.timeline import timelines
from analyzer.vocabulary import check_range, check_segment, check_segments
from storage.store import Store

EVERYONE = "(everyone)"
DIRECT = "(direct)"


@dataclass(frozen=True)
class WebSpec:
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    segments: tuple[str, ...] = asked(  # a group per segment (or name/group) besides everyone
        Param("segment", "a group per segment (NAME or NAME/GROUP) besides everyone", many=True),
        default=(),
    )
    segment: str | None = asked(IN_SEGMENT, default=None)  # only the members of this segment
    session_timeout: int = asked(SESSION_TIMEOUT, default=DEFAULT_TIMEOUT_MINUTES)
    top: int = asked(
        Param(
            "top", "entries per list (pages, entry and exit pages, sources)", "integer", 10, 1, 100
        ),
        default=10,
    )
    cleaning: tuple[tuple[str, str], ...] = asked(
        replace(CLEAN, help=CLEAN.help.replace("rule", "rule for pages", 1)), default=()
    )
    include_bots: bool = asked(BOTS, default=False)

    def validate(self) -> WebSpec:
        check_range(self.date_from, self.date_to)
        check_segments(self.segments)
        if self.segment is not None:
            check_segment(self.segment, "segment")
        check_timeout(self.session_timeout)
        if not isinstance(self.top, int) or not 1 <= self.top <= 100:
            raise SpecError("top", "from 1 to 100 per list")
        check_cleaning(self.cleaning)
        return self


@dataclass(frozen=True)
class Ranked:
    value: str
    count: int  # page views (pages) or sessions (entry, exit, sources)
    people: int


@dataclass
class WebGroup:
    value: str  # EVERYONE or a segment
    people: int
    sessions: int
    bounce_rate: float
    median_session_seconds: float
    pages_per_session: float
    pages: list[Ranked] = field(default_factory=list)
    entry: list[Ranked] = field(default_factory=list)
    exit: list[Ranked] = field(default_factory=list)
    sources: list[Ranked] = field(default_factory=list)


@dataclass
class WebReport:
    groups: list[WebGroup] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sessions(spec: WebSpec, database: str, query: Query) -> str:
    """One row per session: grp (EVERYONE or a segment), person, ms (length), n (events),
    pages (its page views' paths, in order) and src."""
    query.update(
        {
            "from_s": int(spec.date_from.timestamp()),
            "to_s": int(spec.date_to.timestamp()),
            "session_timeout_ms": spec.session_timeout * 60_000,
            "everyone": EVERYONE,
            "direct": DIRECT,
        }
    )
    fields = {
        "pg": f"if(type = 'page', {cleaned('page_path', spec.cleaning, query)}, '')",
        "src": "if(utm_source != '', utm_source, referrer_host)",
    }
    where = (
        f"{BEHAVIOUR} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s)"
    )
    source = restrict(  # segments are joined on the person's hash (analyzer.membership)
        timelines(database, fields, where, ids=False, include_bots=spec.include_bots),
        database,
        spec.segment,
        query,
    )
    groups = "[%(everyone)s]"
    if spec.segments:
        members = members_sql(database, spec.segments, query, hashed=True)
        source = f"(SELECT * FROM {source} AS t ANY LEFT JOIN {members} AS m USING person)"
        groups = "arrayConcat([%(everyone)s], segs)"
    per_person = (
        f"SELECT person, {groups} AS groups, pg, src, times, {boundaries()} AS b, "
        "arrayPopFront(arrayPushBack(b, toUInt8(1))) AS last, "
        "arrayFilter((i, s) -> s = 1, arrayEnumerate(b), b) AS start_at, "
        "arrayFilter((i, s) -> s = 1, arrayEnumerate(b), last) AS end_at "
        f"FROM {source}"
    )
    per_session = (
        "SELECT person, groups, tupleElement(se, 1) AS i, tupleElement(se, 2) AS j, "
        "times[j] - times[i] AS ms, j - i + 1 AS n, "
        "arrayFilter(p -> p != '', arraySlice(pg, i, j - i + 1)) AS pages, "
        "if(src[i] != '', src[i], %(direct)s) AS src "
        f"FROM (SELECT *, arrayJoin(arrayMap((s, e) -> (s, e), start_at, end_at)) AS se "
        f"FROM ({per_person}))"
    )
    return f"SELECT arrayJoin(groups) AS grp, person, ms, n, pages, src FROM ({per_session})"


def web(store: Store, spec: WebSpec) -> WebReport:
    """Sessions, bounce rate, length and the four ranked lists, for everyone and per segment."""
    spec.validate()
    check_refreshed(store, {**listed("segments", spec.segments), "segment": spec.segment})
    query = Query()
    sessions = _sessions(spec, store.database, query)
    summary = store.execute(
        "SELECT grp, uniqExact(person), count(), countIf(n = 1), quantileExact(0.5)(ms), "
        f"sum(length(pages)) FROM ({sessions}) GROUP BY grp",
        query.values,
    )
    # the four lists in one pass: each session gives its entry, exit and source, and a row
    # per page view; ranked by count, then value, the first ``top`` per list and group
    ranked = store.execute(
        "SELECT kind, grp, value, count() AS c, uniqExact(person) FROM ("
        "SELECT grp, person, arrayJoin(arrayConcat("
        "arrayMap(p -> ('pages', p), pages), "
        "arraySlice([('entry', pages[1]), ('exit', pages[-1])], 1, if(empty(pages), 0, 2)), "
        "[('sources', src)])) AS item, tupleElement(item, 1) AS kind, "
        f"tupleElement(item, 2) AS value FROM ({sessions})) "
        "GROUP BY kind, grp, value ORDER BY kind, grp, c DESC, value "
        "LIMIT %(top)s BY kind, grp",
        {**query.values, "top": spec.top},
    )
    report = WebReport()
    by_group: dict[str, WebGroup] = {}
    for grp, people, count, bounces, median, views in summary:
        by_group[str(grp)] = WebGroup(
            value=str(grp),
            people=int(people),
            sessions=int(count),
            bounce_rate=bounces / count if count else 0.0,
            median_session_seconds=float(median) / 1000,
            pages_per_session=views / count if count else 0.0,
        )
    for kind, grp, value, count, people in ranked:
        getattr(by_group[str(grp)], str(kind)).append(Ranked(str(value), int(count), int(people)))
    order = [EVERYONE, *sorted(g for g in by_group if g != EVERYONE)]
    report.groups = [by_group[g] for g in order if g in by_group]
    return report

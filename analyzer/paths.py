"""Paths: the sequences of pages or events people follow, per session, and the edges between
consecutive steps ready for a Sankey chart; and where people went after dropping off a funnel.

A path element is a page path (``kind="page"``; screens by name), an event name (``"event"``)
or both (``"all"``), after the cleaning rules (regular expression -> alias, applied in order,
such as ``/product/\\d+`` -> ``/product/:id``). Repeats of the same element in a row count once.
Sessions end after ``session_timeout`` minutes of inactivity. With a start point a path begins
at its first occurrence in the session; with an end point it ends at the first occurrence, and
keeps the steps before it; with both, the steps between them, the middle cut to ``…`` when
longer than ``max_length``. Sessions without the start or end point are not counted.

Elements travel through the query as hashes of their cleaned text (analyzer.hashed); the text
of the elements in the answer is read back afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR
from analyzer.funnels.people import PersonFunnel
from analyzer.funnels.spec import FUNNEL, WITHOUT_BREAKDOWN, FunnelSpec
from analyzer.hashed import key, texts
from analyzer.membership import check_refreshed, restrict
from analyzer.parameters import (
    BOTS,
    IN_SEGMENT,
    SESSION_TIMEOUT,
    SINCE,
    UNTIL,
    Param,
    asked,
)
from analyzer.query import Query
from analyzer.regex import substitution_problem
from analyzer.sessions import DEFAULT_TIMEOUT_MINUTES, boundaries, check_timeout
from analyzer.timeline import timelines
from analyzer.vocabulary import Step, check_range, check_segment
from storage.store import Store

PAGE_OR_EVENT = "if(type = 'page', page_path, event)"
KINDS = {
    "page": ("type IN ('page', 'screen')", PAGE_OR_EVENT),
    "event": ("type = 'track'", "event"),
    "all": (BEHAVIOUR, PAGE_OR_EVENT),
}
ELLIPSIS = "…"
END = "(end)"
NO_FURTHER = "(no further events)"
LABELS = (ELLIPSIS, END, NO_FURTHER)  # elements the query makes up; looked up by name
NEXT_STEP = "(the next step)"  # where a path between two funnel steps ends: one more


START = Param("start", "paths from this page or event, or set:NAME (any of a touchpoint set)")
END_AT = Param("end", "paths to this page or event, or set:NAME (any of a touchpoint set)")
CLEAN = Param("clean", r"a cleaning rule REGEX=ALIAS, e.g. '/product/\d+=/product/:id'", many=True)
# the funnel's parameters, asked for paths after dropping off it
AFTER_DROP = tuple(
    replace(p, help=f"with dropped_at: {p.help}", required=False) if p in FUNNEL else p
    for p in WITHOUT_BREAKDOWN
)


@dataclass(frozen=True)
class PathSpec:
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    kind: str = asked(
        Param("kind", "page views, other events, or all", "choice", "all", choices=tuple(KINDS)),
        default="all",
    )
    start: str | None = asked(START, default=None)
    end: str | None = asked(END_AT, default=None)
    # or: the first event of a touchpoint set (analyzer.touchpoints, resolved) starts / ends
    start_step: Step | None = asked(START, default=None)
    end_step: Step | None = asked(END_AT, default=None)
    max_length: int = asked(Param("max_length", "steps per path", "integer", 5, 2, 20), default=5)
    cleaning: tuple[tuple[str, str], ...] = asked(CLEAN, default=())
    session_timeout: int = asked(SESSION_TIMEOUT, default=DEFAULT_TIMEOUT_MINUTES)
    top: int = asked(Param("top", "paths to list", "integer", 20, 1, 500), default=20)
    # paths after dropping off: people who reached ``dropped_at`` (1-based) of this funnel and
    # not the next step, from the event of that step on (any session)
    funnel: FunnelSpec | None = asked(*AFTER_DROP, holds=FunnelSpec, default=None)
    dropped_at: int | None = asked(
        Param(
            "dropped_at",
            "paths after dropping off step N of the funnel in --step",
            "integer",
            low=1,
            high=9,
        ),
        default=None,
    )
    # only the members of this segment (or name/group)
    segment: str | None = asked(IN_SEGMENT, default=None)
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)
    # with a funnel: the people who went on from ``dropped_at`` to the next step, and what
    # they did between the two (the path ends at the next step), instead of who dropped
    converted: bool = asked(
        Param(
            "converted",
            "with dropped_at: the paths of those who went on to the next step, between the "
            "two steps, instead of those who dropped",
            "flag",
        ),
        default=False,
    )

    def validate(self) -> PathSpec:
        if self.kind not in KINDS:
            raise SpecError("kind", f"{self.kind!r} is not one of {', '.join(KINDS)}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 500):
                raise SpecError(name, "a path element of 1 to 500 characters")
            step = getattr(self, f"{name}_step")
            if step is not None:
                if value is not None:
                    raise SpecError(name, "a path element or a touchpoint set, not both")
                step.validate(name)
        if not isinstance(self.max_length, int) or not 2 <= self.max_length <= 20:
            raise SpecError("max_length", "from 2 to 20 steps")
        check_cleaning(self.cleaning)
        check_timeout(self.session_timeout)
        if not isinstance(self.top, int) or not 1 <= self.top <= 500:
            raise SpecError("top", "from 1 to 500 paths")
        if (self.funnel is None) != (self.dropped_at is None):
            raise SpecError("dropped_at", "give a funnel and the step people dropped after")
        if self.converted and self.funnel is None:
            raise SpecError("converted", "only with a funnel and dropped_at")
        if self.segment is not None:
            check_segment(self.segment, "segment")
            if self.funnel is not None:
                raise SpecError("segment", "after a drop-off, give the segment to the funnel")
        if self.funnel is not None:
            self.funnel.validate()
            if self.start or self.end or self.start_step or self.end_step:
                raise SpecError(
                    "start", "paths after a drop-off start at the dropped step (no start or end)"
                )
            if not isinstance(self.dropped_at, int) or not (
                1 <= self.dropped_at < len(self.funnel.steps)
            ):
                raise SpecError(
                    "dropped_at", f"a step from 1 to {len(self.funnel.steps) - 1} of the funnel"
                )
        else:
            check_range(self.date_from, self.date_to)
        return self


@dataclass(frozen=True)
class PathCount:
    steps: list[str]
    count: int
    share: float


@dataclass(frozen=True)
class Edge:
    position: int  # of the source in the path, from 1
    source: str
    target: str  # END where paths stop
    count: int
    average_seconds: float | None


@dataclass
class PathsReport:
    total: int  # sessions (or people, after a drop-off) with a path
    paths: list[PathCount] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_cleaning(cleaning: tuple[tuple[str, str], ...]) -> None:
    """Up to 20 cleaning rules, each a (regular expression RE2 takes, alias) pair."""
    if len(cleaning) > 20:
        raise SpecError("cleaning", "at most 20 rules")
    for i, rule in enumerate(cleaning):
        if len(rule) != 2 or not all(isinstance(x, str) for x in rule):
            raise SpecError(f"cleaning[{i}]", "a (regular expression, alias) pair")
        if substitution_problem(*rule):
            raise SpecError(f"cleaning[{i}]", substitution_problem(*rule))


def cleaned(sql: str, cleaning: tuple[tuple[str, str], ...], query: Query) -> str:
    """SQL: the text ``sql`` with each cleaning rule applied in order (values bound)."""
    for i, (pattern, alias) in enumerate(cleaning):
        sql = f"replaceRegexpAll({sql}, {query.bind(f'clean{i}', pattern)}, "
        sql += f"{query.bind(f'alias{i}', alias)})"
    return sql


def _element(spec: PathSpec, query: Query) -> str:
    """SQL: an event's path element, cleaned."""
    return cleaned(KINDS[spec.kind][1], spec.cleaning, query)


def element_names(store: Store, spec: PathSpec, keys: set[int]) -> dict[int, str]:
    """The text of each element hash of an answer (analyzer.hashed)."""
    query = Query()
    element = _element(spec, query)
    labels = (*LABELS, NEXT_STEP) if spec.converted else LABELS
    return texts(store, element, keys, query, where=KINDS[spec.kind][0], labels=labels)


def first_of_runs(el: str, starts: str | None = None) -> str:
    """SQL: a 0/1 mask over the array ``el`` keeping the first of each run of the same element
    in a row; where ``starts`` (a 0/1 array) is 1, a new run begins whatever the element."""
    starts = starts or f"arrayMap(i -> toUInt8(i = 1), arrayEnumerate({el}))"
    # the first element always starts a run: what is pushed before it is never compared
    return (
        f"arrayMap((e, p, s) -> s = 1 OR e != p, {el}, "
        f"arrayPopBack(arrayPushFront({el}, {el}[1])), {starts})"
    )


def _collapsed(el: str, times: str, starts: str) -> list[str]:
    """Drop repeats of the same element in a row (a new session always keeps its first)."""
    return [
        f"{first_of_runs(el, starts)} AS keep",
        f"arrayFilter((x, k) -> k, {el}, keep) AS E",
        f"arrayFilter((x, k) -> k, {times}, keep) AS ET",
        f"arrayFilter((x, k) -> k, {starts}, keep) AS EB",
    ]


def _session_paths(spec: PathSpec, query: Query, database: str) -> str:
    """One row per session with a path: ``path`` (elements) and ``at`` (their times)."""
    events, _ = KINDS[spec.kind]
    query.update(
        {
            "from_s": int(spec.date_from.timestamp()),
            "to_s": int(spec.date_to.timestamp()),
            "session_timeout_ms": spec.session_timeout * 60_000,
            "max_length": spec.max_length,
        }
    )
    where = f"{events} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s)"
    fields = {"el": key(_element(spec, query))}
    # a touchpoint set as start or end: a 0/1 flag per event, kept with its element
    flags = {"sf": spec.start_step, "ef": spec.end_step}
    for name, step in flags.items():
        if step is not None:
            fields[name] = f"toUInt8({query.step(step)})"
    flagged = [name for name, step in flags.items() if step is not None]
    source = restrict(
        timelines(
            database,
            fields,
            where,
            ids=False,  # segments are joined on the person's hash (analyzer.membership)
            include_bots=spec.include_bots,
        ),
        database,
        spec.segment,
        query,
    )
    per_person = ", ".join(
        [
            f"{boundaries()} AS b",
            *_collapsed("el", "times", "b"),
            *(f"arrayFilter((x, k) -> k, {f}, keep) AS {f.upper()}" for f in flagged),
            "arrayFilter((i, s) -> s = 1, arrayEnumerate(EB), EB) AS first",
            "arrayPopFront(arrayPushBack(first, length(EB) + 1)) AS after",
        ]
    )
    span = "tupleElement(span, 1), tupleElement(span, 2)"
    session = (
        f"SELECT E, ET{''.join(f', {f.upper()}' for f in flagged)}, "
        "arrayJoin(arrayMap((a, z) -> (a, z - a), first, after)) AS span "
        f"FROM (SELECT {per_person} FROM {source})"
    )
    full = (
        f"SELECT arraySlice(E, {span}) AS els, arraySlice(ET, {span}) AS ts"
        f"{''.join(f', arraySlice({f.upper()}, {span}) AS {f}l' for f in flagged)} "
        f"FROM ({session})"
    )
    n = "%(max_length)s"
    # where the path starts and ends: the first event of the element, or of the set
    if spec.start is not None:
        query.bind("start", spec.start)
    if spec.end is not None:
        query.bind("end", spec.end)
    start_at = "indexOf(sfl, 1)" if spec.start_step else f"indexOf(els, {key('%(start)s')})"
    end_at = "indexOf(efl, 1)" if spec.end_step else f"indexOf(els, {key('%(end)s')})"
    has_start = spec.start is not None or spec.start_step is not None
    has_end = spec.end is not None or spec.end_step is not None
    if has_start and has_end:
        query.bind("ellipsis", ELLIPSIS)
        end_after = (
            f"indexOf(arraySlice(efl, {start_at}), 1)"
            if spec.end_step
            else f"indexOf(a, {key('%(end)s')})"
        )
        last = "a[e]" if spec.end_step else key("%(end)s")  # the end element itself
        cut = (
            f"SELECT arraySlice(els, {start_at}) AS a, "
            f"arraySlice(ts, {start_at}) AS at_all, {end_after} AS e, "
            f"if(e <= {n}, arraySlice(a, 1, e), arrayConcat(arraySlice(a, 1, {n} - 2), "
            f"[{key('%(ellipsis)s')}], [{last}])) AS path, "
            f"if(e <= {n}, arraySlice(at_all, 1, e), arrayConcat(arraySlice(at_all, 1, {n} - 2), "
            f"[toUInt64(0)], [at_all[e]])) AS at "
            f"FROM ({full}) WHERE {start_at} > 0 AND e > 0"
        )
    elif has_start:
        cut = (
            f"SELECT arraySlice(els, {start_at}, {n}) AS path, "
            f"arraySlice(ts, {start_at}, {n}) AS at "
            f"FROM ({full}) WHERE {start_at} > 0"
        )
    elif has_end:
        first = f"greatest(1, {end_at} - {n} + 1)"
        size = f"least({end_at}, {n})"
        cut = (
            f"SELECT arraySlice(els, {first}, {size}) AS path, arraySlice(ts, {first}, {size}) AS at "
            f"FROM ({full}) WHERE {end_at} > 0"
        )
    else:
        cut = f"SELECT arraySlice(els, 1, {n}) AS path, arraySlice(ts, 1, {n}) AS at FROM ({full})"
    return cut


def _after_drop(spec: PathSpec, query: Query, database: str) -> str:
    """One row per person who dropped after ``dropped_at``: what they did next; or, with
    ``converted``, per person who went on to the next step: what they did in between, then
    the next step (NEXT_STEP)."""
    assert spec.funnel is not None and spec.dropped_at is not None
    q = PersonFunnel(spec.funnel, database, query=query)
    events, _ = KINDS[spec.kind]
    k = spec.dropped_at - 1
    part = f"ix{k} + 1, ix{k + 1} - ix{k} - 1" if spec.converted else f"ix{k} + 1"
    columns = (
        f"arrayFilter((x, p) -> p = 1, arraySlice(el, {part}), arraySlice(pe, {part})) AS next_el",
        f"arrayFilter((x, p) -> p = 1, arraySlice(times, {part}), arraySlice(pe, {part})) "
        "AS next_t",
    )
    people = q.sql(
        fields={"el": key(_element(spec, query)), "pe": f"toUInt8({events})"},
        events=events,
        columns=columns,
    )
    n = "%(max_length)s"
    if spec.converted:
        query.update({"max_length": spec.max_length, "next_step": NEXT_STEP})
        path = (
            f"arrayConcat(arraySlice(E, 1, {n} - 1), [{key('%(next_step)s')}]) AS path, "
            f"arrayConcat(arraySlice(ET, 1, {n} - 1), [t_next]) AS at"
        )
        last, who = f"t{k + 1} AS t_next", f"level > {spec.dropped_at}"
    else:
        query.update({"max_length": spec.max_length, "no_further": NO_FURTHER})
        path = (
            f"if(empty(E), [{key('%(no_further)s')}], arraySlice(E, 1, {n})) AS path, "
            f"if(empty(E), [t_last], arraySlice(ET, 1, {n})) AS at"
        )
        last, who = f"t{k} AS t_last", f"level = {spec.dropped_at}"
    return (
        f"SELECT {path} FROM ("
        f"SELECT *, {first_of_runs('next_el')} AS keep, arrayFilter((x, k) -> k, next_el, keep) AS E, "
        "arrayFilter((x, k) -> k, next_t, keep) AS ET "
        f"FROM (SELECT *, {last} FROM ({people}) WHERE {who}"
        f"{' AND value = %(segment)s' if 'segment' in query.values else ''}))"
    )


def rows_sql(
    spec: PathSpec, database: str, segment: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The SQL of one row per path (``path``, ``at``), and its parameters. After a drop-off,
    ``segment`` keeps the people whose breakdown value (of the funnel) it is."""
    spec.validate()
    query = Query({} if segment is None else {"segment": segment})
    if spec.funnel is not None:
        return _after_drop(spec, query, database), query.values
    return _session_paths(spec, query, database), query.values


def _ranked(rows: str, item: str, size: str) -> str:
    """SQL: ``total`` (the sum of ``c``) and ``ranked``, the ``item`` tuples of ``rows`` led by
    ``-c``, in order, the first ``size`` and every row tied with the last of them. Ties are
    ordered by hash here, so the caller orders them by name."""
    return (
        "SELECT total, arrayFilter((x, k) -> tupleElement(x, 1) <= k, ranked, "
        "arrayResize([kth], length(ranked), kth)) AS ranked FROM ("
        f"SELECT total, ranked, tupleElement(ranked[least({size}, length(ranked))], 1) AS kth "
        f"FROM (SELECT sum(c) AS total, arraySort(groupArray({item})) AS ranked FROM ({rows})))"
    )


def top_paths(store: Store, spec: PathSpec) -> tuple[int, list[PathCount]]:
    """The ``top`` most frequent paths (by count, then path), and how many paths there were."""
    if spec.funnel is not None:
        spec.funnel.validate()
        check_refreshed(store, spec.funnel.named_segments())
    check_refreshed(store, {"segment": spec.segment})
    sql, params = rows_sql(spec, store.database)
    # one pass: the total and the top paths together
    rows = f"SELECT path, count() AS c FROM ({sql}) GROUP BY path"
    ((total, ranked),) = store.execute(
        _ranked(rows, "(-toInt64(c), path)", "%(top)s"), {**params, "top": spec.top}
    )
    names = element_names(store, spec, {int(k) for _, path in ranked for k in path})
    counted = sorted((int(minus), [names[int(k)] for k in path]) for minus, path in ranked)
    total = int(total or 0)
    return total, [PathCount(path, -minus, -minus / total) for minus, path in counted[: spec.top]]


def edges(store: Store, spec: PathSpec, limit: int = 500) -> list[Edge]:
    """Edges between consecutive path steps: (position, source, target) with counts and the
    average time between them; the last step of each path leads to ``(end)``. The ``limit``
    most frequent, by count, then position, source and target."""
    if spec.funnel is not None:
        spec.funnel.validate()
        check_refreshed(store, spec.funnel.named_segments())
    check_refreshed(store, {"segment": spec.segment})
    sql, params = rows_sql(spec, store.database)
    ellipsis, end = key("%(ellipsis)s"), key("%(end_label)s")
    rows = (
        f"SELECT i, path[i] AS source, if(i < length(path), path[i + 1], {end}) AS target, "
        "count() AS c, avgIf(at[i + 1] - at[i], i < length(path) AND at[i + 1] >= at[i] "
        f"AND path[i + 1] != {ellipsis} AND path[i] != {ellipsis}) AS seconds "
        f"FROM (SELECT path, at, arrayJoin(arrayEnumerate(path)) AS i FROM ({sql})) "
        "GROUP BY i, source, target"
    )
    ((_, ranked),) = store.execute(
        _ranked(rows, "(-toInt64(c), i, source, target, seconds)", str(int(limit))),
        {**params, "end_label": END, "ellipsis": ELLIPSIS},
    )
    names = element_names(store, spec, {int(k) for _, _, s, t, _ in ranked for k in (s, t)})
    counted = sorted(
        (int(minus), int(i), names[int(s)], names[int(t)], ms) for minus, i, s, t, ms in ranked
    )
    out = []
    for minus, i, source, target, ms in counted[:limit]:
        has_time = target != END and ms == ms and ELLIPSIS not in (source, target)
        out.append(Edge(i, source, target, -minus, float(ms) / 1000 if has_time else None))
    return out


def report(store: Store, spec: PathSpec) -> PathsReport:
    total, paths = top_paths(store, spec)
    return PathsReport(total=total, paths=paths, edges=edges(store, spec))

"""One row per person who entered a funnel: how far they got, when, and their breakdown value.

Computed over person timelines (analyzer.timeline) in SQL that old servers run too. Per person:

1. ``M``: one bit per step and per exclusion for each event (steps 0..9, exclusions 10..14);
   the events that matter to the mode are kept in order (``ci`` maps them back);
2. every step-1 event inside the date range starts an attempt (in any order: an event of any
   step); from it the earliest next match of each following step within the window
   (``ordered``: later events of the person may come between; ``strict``: the very next tracked
   event must be the next step; ``any``: each step's earliest match from the start on);
3. an attempt with an exclusion event between its steps ``after`` and ``before`` (or, before is
   never reached, until its window ends) does not count;
4. the attempt reaching the furthest step wins, the earliest on ties. A person whose every
   attempt was excluded has level 0.

An event counts for one step in ordered and strict funnels (each step strictly after the
previous). In any order, an event matching two steps counts for both.

What varies is composed, not branched on: the order of steps is a search
(analyzer.funnels.search: ``Ordered`` on packed keys, ``Strict``, ``AnyOrder``), where attempts
may start is a period (analyzer.funnels.periods: one, or the range and the one before it);
this module builds the timeline they read and the row each person gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analyzer.events import BEHAVIOUR, has_trait, trait_text
from analyzer.funnels.periods import OnePeriod, TwoPeriods
from analyzer.funnels.search import bit, search_for
from analyzer.funnels.spec import SESSION, FunnelSpec
from analyzer.hashed import key, texts
from analyzer.membership import members_sql, only_members
from analyzer.query import Query
from analyzer.sessions import boundaries
from analyzer.timeline import timelines
from storage.store import Store


class PersonFunnel:
    """Builds the per-person SQL of a validated spec; ``query`` binds every value (``values``
    go to the store with the SQL)."""

    def __init__(
        self,
        spec: FunnelSpec,
        database: str,
        previous_from: datetime | None = None,
        query: Query | None = None,
    ) -> None:
        """With ``previous_from``, every person comes twice, ``period`` 1 for the spec's
        dates and 0 for the period from ``previous_from`` to ``date_from``: one timeline
        read for both (the attempts of each period start in it, as two funnels would).
        ``query``: the statement the funnel is part of, when it is one part of several."""
        self.spec = spec.validate()
        self.database = database
        self.n = len(spec.steps)
        self.periods = previous_from is not None
        first = previous_from or spec.date_from
        self.query = query = Query() if query is None else query
        from_s = int(first.timestamp())
        until_s = int((spec.date_to + spec.window).timestamp()) + 1
        query.update(
            {
                "from_ms": int(spec.date_from.timestamp() * 1000),
                "to_ms": int(spec.date_to.timestamp() * 1000),
                "window_ms": spec.window_ms,
                "from_s": from_s,
                "until_s": until_s,
            }
        )
        if previous_from is not None:
            query.bind("previous_ms", int(previous_from.timestamp() * 1000))
        # ordered funnels search packed keys: (ms since the first event read) << bits | position
        span_ms = (until_s - from_s) * 1000
        self.position_bits = 64 - span_ms.bit_length()  # 23 or more: 2 x 20 years and a window
        query.update({"base_ms": from_s * 1000, "end_ms": until_s * 1000})
        self.search = search_for(spec)(
            spec, TwoPeriods() if self.periods else OnePeriod(), self.position_bits
        )
        self.steps = [query.step(s) for s in spec.steps]
        self.exclusions = [query.step(e.step) for e in spec.exclusions]

    @property
    def values(self) -> dict[str, Any]:
        """The values the SQL binds, by name."""
        return self.query.values

    @property
    def breakdown_is_person(self) -> bool:
        b = self.spec.breakdown
        return b is not None and b.field.startswith("person.")

    @property
    def breakdown_is_segment(self) -> bool:
        b = self.spec.breakdown
        return b is not None and b.field == "segment"

    def sql(
        self,
        fields: Mapping[str, str] | None = None,
        events: str | None = None,
        columns: tuple[str, ...] = (),
        ids: bool = False,
        hashed_value: bool = False,
        traits: Mapping[str, str] | None = None,
    ) -> str:
        """``SELECT person, level, t0..t{n-1} (ms, 0 if not reached), ix0..ix{n-1} (their
        indexes in the timeline), value`` and ``columns``, for people with an attempt.
        ``person`` is the hash of the person's id; with ``ids`` the id itself comes too, as
        ``person_id``. Segments are joined on the hash (analyzer.membership).

        ``fields``/``events`` add timeline arrays and the events they need, for callers that
        look further into each journey (paths after drop-off, pain points).

        With ``hashed_value``, a breakdown by an event field gives ``value`` as its hash
        (analyzer.hashed; ``value_texts`` reads the texts back).

        ``traits`` (a name -> an identify trait's path) adds, per name, the person's latest
        non-empty value of the trait as a column: from their identify calls of any time up to
        the funnel's end, as a breakdown by ``person.<trait>`` reads it."""
        spec, n = self.spec, self.n
        search = self.search
        conds = self.steps + self.exclusions
        mask = " + ".join(f"toUInt16({c}) * {1 << bit(i, n)}" for i, c in enumerate(conds))
        relevant = search.relevant(conds)
        session = spec.hold == SESSION
        if session:  # every event people do counts for their sessions
            relevant = BEHAVIOUR
        in_range = "timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(until_s)s)"
        where = f"({in_range} AND ({relevant}))"
        tl_fields = search.fields()
        compact = False
        b = spec.breakdown
        person_traits = dict(traits or {})
        if b is not None and self.breakdown_is_person:
            person_traits["tv"] = b.field.split(".", 1)[1]
        for name, path in person_traits.items():
            self.query.bind(f"{name}_trait", path)
            tl_fields[name] = f"if(type = 'identify', {trait_text(f'{name}_trait')}, '')"
            where += f" OR (type = 'identify' AND {has_trait(f'{name}_trait')})"
            compact = True
        if b is not None and not self.breakdown_is_person and not self.breakdown_is_segment:
            bv = self.query.fields(b.fields)
            tl_fields["bv"] = key(bv) if hashed_value else bv
        if spec.hold is not None and not session:  # the value each event holds, hashed
            tl_fields["hv"] = key(self.query.field(spec.hold))
        if session:
            tl_fields.setdefault("beh", f"toUInt8({BEHAVIOUR})")
        if fields:
            tl_fields.update(fields)
        if events:
            where += f" OR ({in_range} AND ({events}))"
            compact = True
        # Old servers drop a subquery's column that is used only inside a lambda, so columns
        # of the timeline enter lambdas as arguments, never as captured names.
        if session:
            compacted = self._sessions()
        elif compact:
            compacted = [
                f"arrayFilter((i, k) -> k != 0, arrayEnumerate(times), {search.keep}) AS ci",
                f"arrayFilter((t, k) -> k != 0, times, {search.keep}) AS T",
                f"arrayFilter((x, k) -> k != 0, m, {search.keep}) AS M",
                *(
                    [f"arrayFilter((h, k) -> k != 0, hv, {search.keep}) AS H"]
                    if search.held
                    else []
                ),
                "arrayEnumerate(T) AS idx",
            ]
        else:  # the timeline is the attempts' events: no copies
            compacted = [
                "arrayEnumerate(times) AS ci",
                "times AS T",
                "m AS M",
                *(["hv AS H"] if search.held else []),
                "ci AS idx",
            ]
        exprs = [
            *compacted,
            *search.periods.bounds(),
            *search.keys(),
            *search.starts(),
            *search.attempts(),
            *search.levels(),
            "arrayReduce('max', levels) AS level",
            "arrayFirstIndex(l -> l = level, levels) AS best",
        ]
        outer = ["person", *(["person_id"] if ids else []), "level"]
        outer += search.periods.columns
        outer += [f"if(level > {k}, T[{search.position(k)}], 0) AS t{k}" for k in range(n)]
        outer += [f"if(level > {k}, ci[{search.position(k)}], 0) AS ix{k}" for k in range(n)]
        outer.append(
            f"{self._value(hashed_value)} AS {'_unused' if self.breakdown_is_segment else 'value'}"
        )
        outer += [f"arrayFilter(x -> x != '', {name})[-1] AS {name}_value" for name in traits or {}]
        outer += list(columns)
        keep = "length(starts) > 0"
        if spec.segment is not None:
            keep += f" AND {only_members(self.database, spec.segment, self.query)}"
        source = timelines(self.database, tl_fields, where, ids, ("m", mask), spec.include_bots)
        source = search.periods.source(source, search.start_bits)
        sql = f"SELECT {', '.join(outer)} FROM (SELECT *, {', '.join(exprs)} FROM {source}) WHERE {keep}"
        if not self.breakdown_is_segment:
            return sql
        # One JOIN per SELECT on old servers: the segments join the finished rows.
        assert b is not None
        return (
            "SELECT *, arrayStringConcat(arraySort(segs), '+') AS value "
            f"FROM ({sql}) AS f ANY LEFT JOIN {members_sql(self.database, b.segments, self.query, hashed=True)} AS m USING person"
        )

    def _sessions(self) -> list[str]:
        """The timeline's events that matter, with ``H``, each one's session: numbered over
        everything the person does (``_b*``: their events that are behaviour), a session
        ending after ``session_timeout`` minutes without any."""
        self.query.bind("session_timeout_ms", self.spec.session_timeout * 60_000)
        kept = [
            "arrayFilter((i, b) -> b = 1, arrayEnumerate(times), beh) AS _bi",
            "arrayFilter((t, b) -> b = 1, times, beh) AS _bt",
            "arrayFilter((x, b) -> b = 1, m, beh) AS _bm",
            f"arrayCumSum({boundaries('_bt')}) AS _bs",
        ]
        if self.spec.mode == "strict":  # every event people do is a step's or in between
            return [
                *kept,
                "_bi AS ci",
                "_bt AS T",
                "_bm AS M",
                "_bs AS H",
                "arrayEnumerate(T) AS idx",
            ]
        return [
            *kept,
            "arrayFilter((i, x) -> x != 0, _bi, _bm) AS ci",
            "arrayFilter((t, x) -> x != 0, _bt, _bm) AS T",
            "arrayFilter(x -> x != 0, _bm) AS M",
            "arrayFilter((s, x) -> x != 0, _bs, _bm) AS H",
            "arrayEnumerate(T) AS idx",
        ]

    def value_texts(self, store: Store, keys: set[int]) -> dict[int, str]:
        """The breakdown values of hashes given as ``value`` with ``hashed_value``."""
        b = self.spec.breakdown
        assert b is not None and not self.breakdown_is_person and not self.breakdown_is_segment
        query = Query()
        return texts(store, query.fields(b.fields), keys, query, labels=("",))

    def _value(self, hashed: bool) -> str:
        b = self.spec.breakdown
        if b is None or self.breakdown_is_segment:
            return "''"
        if self.breakdown_is_person:
            return "arrayFilter(x -> x != '', tv)[-1]"
        if b.attribution == "first_touch":
            return f"bv[ci[{self.search.position(0)}]]"
        if b.attribution == "last_touch":
            return f"bv[ci[{self.search.last_position()}]]"
        step = b.step or 1  # validated: a step number with this attribution
        none = key("''") if hashed else "''"
        return f"if(level >= {step}, bv[ci[{self.search.position(step - 1)}]], {none})"

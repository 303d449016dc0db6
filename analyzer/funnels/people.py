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

Ordered funnels search packed keys (``K``: an event's time since the range read above its
position), so each step's search is one range over one array; strict and any-order funnels
search positions and times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analyzer.events import BEHAVIOUR, has_trait, trait_text
from analyzer.funnels.spec import FunnelSpec
from analyzer.hashed import key, texts
from analyzer.membership import members_sql, only_members
from analyzer.query import Query
from analyzer.timeline import timelines
from storage.store import Store

EXCLUSION_BIT = 10


def _keys_of(bit: int, name: str) -> str:
    """The packed keys (``K``) of the events with ``bit`` in their mask."""
    return f"arrayFilter((k, x) -> bitAnd(x, {bit}) != 0, K, M) AS {name}"


def _events_of(bit: int, positions: str, times: str) -> list[str]:
    """The timeline positions and times of the events with ``bit`` in their mask."""
    return [
        f"arrayFilter((j, x) -> bitAnd(x, {bit}) != 0, idx, M) AS {positions}",
        f"arrayFilter((t, x) -> bitAnd(x, {bit}) != 0, T, M) AS {times}",
    ]


class PersonFunnel:
    """Builds the per-person SQL of a validated spec; ``params`` holds every bound value."""

    def __init__(
        self, spec: FunnelSpec, database: str, previous_from: datetime | None = None
    ) -> None:
        """With ``previous_from``, every person comes twice, ``period`` 1 for the spec's
        dates and 0 for the period from ``previous_from`` to ``date_from``: one timeline
        read for both (the attempts of each period start in it, as two funnels would)."""
        self.spec = spec.validate()
        self.database = database
        self.n = len(spec.steps)
        self.periods = previous_from is not None
        first = previous_from or spec.date_from
        self.params: dict[str, Any] = {
            "from_ms": int(spec.date_from.timestamp() * 1000),
            "to_ms": int(spec.date_to.timestamp() * 1000),
            "window_ms": spec.window_ms,
            "from_s": int(first.timestamp()),
            "until_s": int((spec.date_to + spec.window).timestamp()) + 1,
        }
        if previous_from is not None:
            self.params["previous_ms"] = int(previous_from.timestamp() * 1000)
        # ordered funnels search packed keys: (ms since the first event read) << bits | position
        span_ms = (self.params["until_s"] - self.params["from_s"]) * 1000
        self.position_bits = 64 - span_ms.bit_length()  # 23 or more: 2 x 20 years and a window
        self.params["base_ms"] = self.params["from_s"] * 1000
        self.params["end_ms"] = self.params["until_s"] * 1000
        query = Query(self.params)
        self.steps = [query.step(s) for s in spec.steps]
        self.exclusions = [query.step(e.step) for e in spec.exclusions]

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
        conds = self.steps + self.exclusions
        mask = " + ".join(f"toUInt16({c}) * {1 << self._bit(i)}" for i, c in enumerate(conds))
        relevant = BEHAVIOUR if spec.mode == "strict" else " OR ".join(conds)
        in_range = "timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(until_s)s)"
        where = f"({in_range} AND ({relevant}))"
        tl_fields: dict[str, str] = {}
        compact = False
        if spec.mode == "strict":
            tl_fields["beh"] = f"toUInt8({BEHAVIOUR})"
        b = spec.breakdown
        person_traits = dict(traits or {})
        if b is not None and self.breakdown_is_person:
            person_traits["tv"] = b.field.split(".", 1)[1]
        for name, path in person_traits.items():
            self.params[f"{name}_trait"] = path
            tl_fields[name] = f"if(type = 'identify', {trait_text(f'{name}_trait')}, '')"
            where += f" OR (type = 'identify' AND {has_trait(f'{name}_trait')})"
            compact = True
        if b is not None and not self.breakdown_is_person and not self.breakdown_is_segment:
            bv = Query(self.params).field(b.field)
            tl_fields["bv"] = key(bv) if hashed_value else bv
        if fields:
            tl_fields.update(fields)
        if events:
            where += f" OR ({in_range} AND ({events}))"
            compact = True
        # Old servers drop a subquery's column that is used only inside a lambda, so columns
        # of the timeline enter lambdas as arguments, never as captured names.
        if compact:
            keep = "beh" if spec.mode == "strict" else "m"
            compacted = [
                f"arrayFilter((i, k) -> k != 0, arrayEnumerate(times), {keep}) AS ci",
                f"arrayFilter((t, k) -> k != 0, times, {keep}) AS T",
                f"arrayFilter((x, k) -> k != 0, m, {keep}) AS M",
                "arrayEnumerate(T) AS idx",
            ]
        else:  # the timeline is the attempts' events: no copies
            compacted = [
                "arrayEnumerate(times) AS ci",
                "times AS T",
                "m AS M",
                "ci AS idx",
            ]
        exprs = [
            *compacted,
            *self._bounds(),
            *self._keys(),
            self._starts("i, t, x", "K, T, M" if self.packed else "idx, T, M", "starts"),
            *self._attempts(),
            *self._levels(),
            "arrayReduce('max', levels) AS level",
            "arrayFirstIndex(l -> l = level, levels) AS best",
        ]
        outer = ["person", *(["person_id"] if ids else []), "level"]
        if self.periods:
            outer.append("period")
        outer += [f"if(level > {k}, T[{self._position(k)}], 0) AS t{k}" for k in range(n)]
        outer += [f"if(level > {k}, ci[{self._position(k)}], 0) AS ix{k}" for k in range(n)]
        outer.append(
            f"{self._value(hashed_value)} AS {'_unused' if self.breakdown_is_segment else 'value'}"
        )
        outer += [f"arrayFilter(x -> x != '', {name})[-1] AS {name}_value" for name in traits or {}]
        outer += list(columns)
        keep = "length(starts) > 0"
        if spec.segment is not None:
            keep += f" AND {only_members(self.database, spec.segment, Query(self.params))}"
        source = timelines(self.database, tl_fields, where, ids, ("m", mask), spec.include_bots)
        if self.periods:  # each person once per period they start an attempt in
            bits = self._start_bits()
            starts = [
                f"arrayExists((t, x) -> bitAnd(x, {bits}) != 0 AND t >= %({lo})s "
                f"AND t < %({hi})s, times, m)"
                for lo, hi in (("previous_ms", "from_ms"), ("from_ms", "to_ms"))
            ]
            source = (
                "(SELECT *, arrayJoin(arrayFilter(p -> p < 2, "
                f"[if({starts[0]}, 0, 2), if({starts[1]}, 1, 2)])) AS period FROM {source})"
            )
        sql = f"SELECT {', '.join(outer)} FROM (SELECT *, {', '.join(exprs)} FROM {source}) WHERE {keep}"
        if not self.breakdown_is_segment:
            return sql
        # One JOIN per SELECT on old servers: the segments join the finished rows.
        assert b is not None
        return (
            "SELECT *, arrayStringConcat(arraySort(segs), '+') AS value "
            f"FROM ({sql}) AS f ANY LEFT JOIN {members_sql(self.database, b.segments, Query(self.params), hashed=True)} AS m USING person"
        )

    def value_texts(self, store: Store, keys: set[int]) -> dict[int, str]:
        """The breakdown values of hashes given as ``value`` with ``hashed_value``."""
        b = self.spec.breakdown
        assert b is not None and not self.breakdown_is_person and not self.breakdown_is_segment
        params: dict[str, Any] = {}
        column = Query(params).field(b.field)
        return texts(store, column, keys, params, labels=("",))

    def _bounds(self) -> list[str]:
        """With ``periods``, ``_lo`` and ``_hi``: where the row's period's attempts may start,
        as arrays the length of the timeline (old servers take no captured names in lambdas)."""
        if not self.periods:
            return []
        lo = "if(period = 1, %(from_ms)s, %(previous_ms)s)"
        hi = "if(period = 1, %(to_ms)s, %(from_ms)s)"
        return [
            f"arrayResize([toUInt64({lo})], length(T), toUInt64({lo})) AS _lo",
            f"arrayResize([toUInt64({hi})], length(T), toUInt64({hi})) AS _hi",
        ]

    @property
    def packed(self) -> bool:
        """Whether attempts are searched on packed keys (``K``): ordered funnels, where an
        event's key orders it as its position does and holds its time, so a step is one
        array searched with one range (after the previous step, up to the deadline)."""
        return self.spec.mode == "ordered"

    def _keys(self) -> list[str]:
        """``K``: per event, its time since ``base_ms`` above its position (``position_bits``
        of them: positions up to 2**23 at the longest range, its previous period and window). Identify calls of
        any time ride along for person traits; a time outside the range read is held at its
        edge, where it still orders as its position does and is never within a window."""
        if not self.packed:
            return []
        held = "least(greatest(t, %(base_ms)s), %(end_ms)s)"
        return [
            f"arrayMap((t, i) -> bitOr(bitShiftLeft(toUInt64({held} - %(base_ms)s), "
            f"{self.position_bits}), toUInt64(i)), T, idx) AS K"
        ]

    def _starts(self, args: str, arrays: str, name: str) -> str:
        """``arrays`` of the step-1 events (any step's in any order) where attempts start."""
        bits = f"bitAnd(x, {self._start_bits()}) != 0"
        if not self.periods:
            return (
                f"arrayFilter(({args}) -> {bits} AND t >= %(from_ms)s AND t < %(to_ms)s, "
                f"{arrays}) AS {name}"
            )
        return (
            f"arrayFilter(({args}, lo, hi) -> {bits} AND t >= lo AND t < hi, "
            f"{arrays}, _lo, _hi) AS {name}"
        )

    def _bit(self, i: int) -> int:
        return i if i < self.n else EXCLUSION_BIT + i - self.n

    def _start_bits(self) -> int:
        return (1 << self.n) - 1 if self.spec.mode == "any" else 1

    def _attempts(self) -> list[str]:
        """Per start, the positions of the steps it reached: ``p1``..``p{n-1}`` aligned with
        ``starts`` (0 once a step is not reached); in any order, ``paths`` (the positions
        found, in order) instead.

        Old servers drop a name of the SELECT that is used only inside a lambda, so ``idx``,
        ``M`` and ``T`` enter every lambda as arguments; nested lambdas capture only the
        arguments of the lambda around them (``s``, ``d``: the start's window end, ``p``)."""
        n, mode = self.n, self.spec.mode
        if self.packed:
            return self._packed_attempts()
        exprs = [
            self._starts("t, x", "T, M", "start_times"),
            "arrayMap(t -> t + %(window_ms)s, start_times) AS deadlines",
        ]

        # Each step's events apart (positions ``j{k}``, times ``u{k}``): an attempt searches
        # only the events of the step it looks for, not the whole timeline.
        for k in range(0 if mode == "any" else 1, n):
            exprs += _events_of(1 << k, f"j{k}", f"u{k}")

        def first(k: int, condition: str) -> str:
            return f"arrayFirst((j, t) -> {condition} AND t <= d, j{k}, u{k})"

        if mode == "any":
            for k in range(n):
                exprs.append(f"arrayMap((s, d) -> {first(k, 'j >= s')}, starts, deadlines) AS f{k}")
            found = ", ".join(f"f{k}" for k in range(n))
            args = ", ".join(f"a{k}" for k in range(n))
            exprs.append(
                f"arrayMap(({args}) -> arraySort(arrayFilter(x -> x > 0, [{args}])), {found}) "
                "AS paths"
            )
            return exprs
        for k in range(1, n):
            prev = "s" if k == 1 else "p"
            near = f"j = {prev} + 1" if mode == "strict" else f"j > {prev}"
            nxt = f"if({prev} = 0, 0, {first(k, near)})"
            if k == 1:
                exprs.append(f"arrayMap((s, d) -> {nxt}, starts, deadlines) AS p1")
            else:
                exprs.append(f"arrayMap((s, d, p) -> {nxt}, starts, deadlines, p{k - 1}) AS p{k}")
        return exprs

    def _packed_attempts(self) -> list[str]:
        """``p1``..``p{n-1}`` of an ordered funnel as packed keys (0: not reached): each the
        first event of its step after the previous step's, up to the start's deadline (its
        time plus the window, above every position)."""
        bits, mask = self.position_bits, (1 << self.position_bits) - 1
        exprs = [
            f"arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, {bits}) + %(window_ms)s, "
            f"{bits}), {mask}), starts) AS deadlines"
        ]
        exprs += [_keys_of(1 << k, f"j{k}") for k in range(1, self.n)]
        for k in range(1, self.n):
            search = f"arrayFirst(j -> j > p AND j <= d, j{k})"
            if k == 1:
                exprs.append(f"arrayMap((p, d) -> {search}, starts, deadlines) AS p1")
            else:
                exprs.append(
                    f"arrayMap((p, d) -> if(p = 0, 0, {search}), p{k - 1}, deadlines) AS p{k}"
                )
        return exprs

    def _levels(self) -> list[str]:
        """``levels``: per attempt, how many steps it reached, 0 if an exclusion disqualifies it.

        In ordered and strict funnels the steps reached are ``starts`` then each ``p{k}`` until
        the first 0 (step ``a`` is at ``s`` for a = 1, else at ``a{a-1}`` inside the lambda).
        An exclusion event counts from step ``after`` until step ``before``, or until the
        window ends when the attempt did not get that far."""
        n, any_order = self.n, self.spec.mode == "any"
        if any_order:
            reached = "arrayMap(p -> length(p), paths)"
        else:
            args = ", ".join(f"a{k}" for k in range(1, n))
            steps = " + ".join(f"(a{k} > 0)" for k in range(1, n))
            reached = f"arrayMap(({args}) -> 1 + {steps}, {self._pk_list()})"
        if not self.spec.exclusions:
            return [f"{reached} AS levels"]
        exprs, parts = [], []
        for i, ex in enumerate(self.spec.exclusions):
            bit = 1 << (EXCLUSION_BIT + i)
            if self.packed:  # keys: after is j > key, the deadline a key too
                exprs.append(_keys_of(bit, f"xj{i}"))
                x_args, x_arrays, in_window = "j", f"xj{i}", "j <= d"
            else:
                exprs += _events_of(bit, f"xj{i}", f"xu{i}")
                x_args, x_arrays, in_window = "(j, t)", f"xj{i}, xu{i}", "t <= d"
            a = ex.after
            b = self.n if ex.before is None else ex.before
            if any_order:
                pos, got = f"p[{a}]", f"length(p) >= {a}"
                end, end_got = f"p[{b}]", f"length(p) >= {b}"
            else:
                pos, got = ("s", "1") if a == 1 else (f"a{a - 1}", f"a{a - 1} > 0")
                end, end_got = f"a{b - 1}", f"a{b - 1} > 0"
            parts.append(
                f"({got} AND arrayExists({x_args} -> j > {pos} "
                f"AND if({end_got}, j < {end}, {in_window}), {x_arrays}))"
            )
        if any_order:
            args, arrays = "p, d", "paths, deadlines"
        else:
            args = ", ".join(["s", "d", *(f"a{k}" for k in range(1, n))])
            arrays = f"starts, deadlines, {self._pk_list()}"
        return [
            *exprs,
            f"arrayMap(({args}) -> {' OR '.join(parts)}, {arrays}) AS excluded",
            f"arrayMap((e, l) -> if(e, 0, l), excluded, {reached}) AS levels",
        ]

    def _pk_list(self) -> str:
        return ", ".join(f"p{k}" for k in range(1, self.n))

    def _position(self, k: int) -> str:
        """The timeline position of step ``k`` (0-based) in the winning attempt."""
        if self.spec.mode == "any":
            return f"paths[best][{k + 1}]"
        return self._at("starts[best]" if k == 0 else f"p{k}[best]")

    def _at(self, found: str) -> str:
        """The position in ``found`` (a packed key's low bits in ordered funnels)."""
        if not self.packed:
            return found
        return f"bitAnd({found}, {(1 << self.position_bits) - 1})"

    def _last_position(self) -> str:
        """The last position the winning attempt reached (even when it was excluded)."""
        if self.spec.mode == "any":
            return "paths[best][-1]"
        found = [f"p{k}[best] > 0, p{k}[best]" for k in range(self.n - 1, 0, -1)]
        return self._at(f"multiIf({', '.join(found)}, starts[best])")

    def _value(self, hashed: bool) -> str:
        b = self.spec.breakdown
        if b is None or self.breakdown_is_segment:
            return "''"
        if self.breakdown_is_person:
            return "arrayFilter(x -> x != '', tv)[-1]"
        if b.attribution == "first_touch":
            return f"bv[ci[{self._position(0)}]]"
        if b.attribution == "last_touch":
            return f"bv[ci[{self._last_position()}]]"
        step = b.step or 1  # validated: a step number with this attribution
        none = key("''") if hashed else "''"
        return f"if(level >= {step}, bv[ci[{self._position(step - 1)}]], {none})"

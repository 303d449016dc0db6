"""How a funnel's attempts are found in a person's timeline, one class per order of steps:
``Ordered`` (later events may come between steps; searched on packed keys), ``Strict`` (the
very next tracked event must be the next step) and ``AnyOrder`` (each step's earliest match
from the start on). analyzer.funnels.people composes one with the periods attempts start in
(analyzer.funnels.periods).

Every class reads the arrays the person funnel builds: ``T`` (times), ``M`` (each event's
bits: steps 0..9, exclusions from ``EXCLUSION_BIT``), ``idx`` (positions) and gives
``starts``, the attempts' steps and ``levels`` (per attempt, the steps reached; 0 when an
exclusion disqualifies it), then where the winning attempt (``best``) found each step.

Old servers drop a name of the SELECT used only inside a lambda, so ``idx``, ``M`` and ``T``
enter every lambda as arguments; nested lambdas capture only the arguments of the lambda
around them (``s``, ``d``: the start's window end, ``p``).
"""

from __future__ import annotations

from analyzer.events import BEHAVIOUR
from analyzer.funnels.periods import OnePeriod
from analyzer.funnels.spec import Exclusion, FunnelSpec

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


def bit(i: int, n: int) -> int:
    """The bit number of condition ``i`` of a funnel of ``n`` steps (its steps, then its
    exclusions)."""
    return i if i < n else EXCLUSION_BIT + i - n


class Search:
    """The attempts of one order of steps; subclasses say how each step is searched."""

    keep = "m"  # the timeline's events that matter: those meeting a condition
    packed = False  # whether attempts are searched on packed keys (``K``)

    def __init__(self, spec: FunnelSpec, periods: OnePeriod, position_bits: int) -> None:
        self.n = len(spec.steps)
        self.exclusions: tuple[Exclusion, ...] = spec.exclusions
        self.periods = periods
        self.position_bits = position_bits
        # with a value held constant, ``H`` holds each event's (aligned with ``T``); an
        # attempt's later steps need its start's, ``start_held``
        self.held = spec.hold is not None
        self.spec = spec

    @property
    def start_bits(self) -> int:
        """The bits of the events where attempts start: step 1's."""
        return 1

    def relevant(self, conditions: list[str]) -> str:
        """SQL: which events of the range the timeline keeps."""
        return " OR ".join(conditions)

    def fields(self) -> dict[str, str]:
        """Timeline arrays the search reads besides the mask."""
        return {}

    def keys(self) -> list[str]:
        """Arrays built before the starts (the packed keys)."""
        return []

    def _start_filter(self) -> str:
        return f"bitAnd(x, {self.start_bits}) != 0"

    def starts(self) -> list[str]:
        """``starts``: where attempts start (positions, or packed keys); with a value held,
        ``start_held``, the value at each."""
        return [
            self.periods.starts("i, t, x", "idx, T, M", self._start_filter(), "starts"),
            *self._start_held(),
        ]

    def _start_held(self) -> list[str]:
        if not self.held:
            return []
        return [self.periods.starts("h, t, x", "H, T, M", self._start_filter(), "start_held")]

    def _held_of(self, bit: int, name: str) -> list[str]:
        """With a value held, the values of the events with ``bit`` in their mask."""
        if not self.held:
            return []
        return [f"arrayFilter((h, x) -> bitAnd(x, {bit}) != 0, H, M) AS {name}"]

    def attempts(self) -> list[str]:
        """Per start, the steps it reached."""
        raise NotImplementedError

    def _position_search(self, first: int) -> list[str]:
        """``start_times``, ``deadlines`` and each step's events apart from ``first`` on
        (positions ``j{k}``, times ``u{k}``): an attempt searches only the events of the step
        it looks for, not the whole timeline."""
        exprs = [
            self.periods.starts("t, x", "T, M", self._start_filter(), "start_times"),
            "arrayMap(t -> t + %(window_ms)s, start_times) AS deadlines",
        ]
        for k in range(first, self.n):
            exprs += _events_of(1 << k, f"j{k}", f"u{k}")
            exprs += self._held_of(1 << k, f"h{k}")
        return exprs

    def _first(self, k: int, condition: str) -> str:
        """The first event of step ``k`` meeting ``condition`` before the deadline ``d`` (and
        holding the start's value ``sh``)."""
        if self.held:
            return f"arrayFirst((j, t, h) -> {condition} AND t <= d AND h = sh, j{k}, u{k}, h{k})"
        return f"arrayFirst((j, t) -> {condition} AND t <= d, j{k}, u{k})"

    def _with_held(self, args: str, arrays: str) -> tuple[str, str]:
        """A lambda's arguments and arrays, with the start's held value when there is one."""
        return (f"{args}, sh", f"{arrays}, start_held") if self.held else (args, arrays)

    def reached(self) -> str:
        """SQL: per attempt, the steps it reached."""
        raise NotImplementedError

    def exclusion_events(self, bit: int, i: int) -> tuple[list[str], str, str, str]:
        """Exclusion ``i``'s events apart: the arrays, the lambda's arguments and arrays, and
        the condition of being within the window of an attempt that stopped early."""
        return _events_of(bit, f"xj{i}", f"xu{i}"), "(j, t)", f"xj{i}, xu{i}", "t <= d"

    def between(self, after: int, before: int) -> tuple[str, str, str, str]:
        """SQL inside the levels' lambda: the position of step ``after`` and whether the
        attempt got there, the position of step ``before`` and whether it got there."""
        raise NotImplementedError

    def level_arrays(self) -> tuple[str, str]:
        """The levels' lambda arguments and the arrays they come from."""
        raise NotImplementedError

    def levels(self) -> list[str]:
        """``levels``: per attempt, how many steps it reached, 0 if an exclusion disqualifies
        it. An exclusion event counts from step ``after`` until step ``before``, or until the
        window ends when the attempt did not get that far."""
        reached = self.reached()
        if not self.exclusions:
            return [f"{reached} AS levels"]
        exprs, parts = [], []
        for i, ex in enumerate(self.exclusions):
            events, x_args, x_arrays, in_window = self.exclusion_events(1 << (EXCLUSION_BIT + i), i)
            exprs += events
            before = self.n if ex.before is None else ex.before
            pos, got, end, end_got = self.between(ex.after, before)
            parts.append(
                f"({got} AND arrayExists({x_args} -> j > {pos} "
                f"AND if({end_got}, j < {end}, {in_window}), {x_arrays}))"
            )
        args, arrays = self.level_arrays()
        return [
            *exprs,
            f"arrayMap(({args}) -> {' OR '.join(parts)}, {arrays}) AS excluded",
            f"arrayMap((e, l) -> if(e, 0, l), excluded, {reached}) AS levels",
        ]

    def position(self, k: int) -> str:
        """The timeline position of step ``k`` (0-based) in the winning attempt."""
        raise NotImplementedError

    def last_position(self) -> str:
        """The last position the winning attempt reached (even when it was excluded)."""
        raise NotImplementedError


class _InSequence(Search):
    """Steps one after another: ``p1``..``p{n-1}`` aligned with ``starts`` (0 once a step is
    not reached); step ``a`` is at ``s`` for a = 1, else at ``a{a-1}`` inside a lambda."""

    def _found(self) -> str:
        return ", ".join(f"p{k}" for k in range(1, self.n))

    def reached(self) -> str:
        args = ", ".join(f"a{k}" for k in range(1, self.n))
        steps = " + ".join(f"(a{k} > 0)" for k in range(1, self.n))
        return f"arrayMap(({args}) -> 1 + {steps}, {self._found()})"

    def between(self, after: int, before: int) -> tuple[str, str, str, str]:
        pos, got = ("s", "1") if after == 1 else (f"a{after - 1}", f"a{after - 1} > 0")
        return pos, got, f"a{before - 1}", f"a{before - 1} > 0"

    def level_arrays(self) -> tuple[str, str]:
        args = ", ".join(["s", "d", *(f"a{k}" for k in range(1, self.n))])
        return args, f"starts, deadlines, {self._found()}"

    def at(self, found: str) -> str:
        """The position in ``found``."""
        return found

    def position(self, k: int) -> str:
        return self.at("starts[best]" if k == 0 else f"p{k}[best]")

    def last_position(self) -> str:
        found = [f"p{k}[best] > 0, p{k}[best]" for k in range(self.n - 1, 0, -1)]
        return self.at(f"multiIf({', '.join(found)}, starts[best])")


class Ordered(_InSequence):
    """Later events may come between steps. Searched on packed keys (``K``: an event's time
    since the range read above its position), where an event's key orders it as its position
    does and holds its time: each step is one array searched with one range (after the
    previous step, up to the deadline)."""

    packed = True

    def keys(self) -> list[str]:
        """``K``: per event, its time since ``base_ms`` above its position (``position_bits``
        of them: positions up to 2**23 at the longest range, its previous period and window).
        Identify calls of any time ride along for person traits; a time outside the range
        read is held at its edge, where it still orders as its position does and is never
        within a window."""
        held = "least(greatest(t, %(base_ms)s), %(end_ms)s)"
        return [
            f"arrayMap((t, i) -> bitOr(bitShiftLeft(toUInt64({held} - %(base_ms)s), "
            f"{self.position_bits}), toUInt64(i)), T, idx) AS K"
        ]

    def starts(self) -> list[str]:
        return [
            self.periods.starts("i, t, x", "K, T, M", self._start_filter(), "starts"),
            *self._start_held(),
        ]

    def attempts(self) -> list[str]:
        """``p1``..``p{n-1}`` as packed keys (0: not reached): each the first event of its
        step after the previous step's, up to the start's deadline (its time plus the window,
        above every position)."""
        bits, mask = self.position_bits, (1 << self.position_bits) - 1
        exprs = [
            f"arrayMap(s -> bitOr(bitShiftLeft(bitShiftRight(s, {bits}) + %(window_ms)s, "
            f"{bits}), {mask}), starts) AS deadlines"
        ]
        for k in range(1, self.n):
            exprs += [_keys_of(1 << k, f"j{k}"), *self._held_of(1 << k, f"h{k}")]
        for k in range(1, self.n):
            condition = self._condition(k)
            if self.held:
                search = f"arrayFirst((j, h) -> {condition}, j{k}, h{k})"
            else:
                search = f"arrayFirst(j -> {condition}, j{k})"
            if k == 1:
                args, arrays = self._with_held("p, d", "starts, deadlines")
                exprs.append(f"arrayMap(({args}) -> {search}, {arrays}) AS p1")
            else:
                args, arrays = self._with_held("p, d", f"p{k - 1}, deadlines")
                exprs.append(f"arrayMap(({args}) -> if(p = 0, 0, {search}), {arrays}) AS p{k}")
        return exprs

    def _follows(self) -> str:
        """SQL over keys: event ``j`` may be the step after the one at ``p``."""
        return "j > p"

    def _condition(self, k: int) -> str:
        """SQL over keys: ``j`` is step ``k`` (0-based) of the attempt whose step before is at
        ``p`` and whose deadline is ``d``: after it, in time, within its gap, holding its
        value. A key's time is its high bits, so a gap is a range of keys from ``p``'s time."""
        bits, mask = self.position_bits, (1 << self.position_bits) - 1
        parts = [self._follows(), "j <= d"]
        gap = self.spec.gap(k + 1)
        if gap is not None:
            since = f"bitShiftRight(p, {bits})"
            if gap.least_ms:
                parts.append(f"j >= bitShiftLeft({since} + {gap.least_ms}, {bits})")
            if gap.most_ms is not None:
                parts.append(f"j <= bitOr(bitShiftLeft({since} + {gap.most_ms}, {bits}), {mask})")
        if self.held:
            parts.append("h = sh")
        return " AND ".join(parts)

    def exclusion_events(self, bit: int, i: int) -> tuple[list[str], str, str, str]:
        # keys: after is j > key, the deadline a key too
        return [_keys_of(bit, f"xj{i}")], "j", f"xj{i}", "j <= d"

    def at(self, found: str) -> str:
        """The position in a packed key: its low bits."""
        return f"bitAnd({found}, {(1 << self.position_bits) - 1})"


class _EveryEvent(Search):
    """A strict order: the timeline keeps everything people do, so the next one is known."""

    keep = "beh"

    def relevant(self, conditions: list[str]) -> str:
        return BEHAVIOUR

    def fields(self) -> dict[str, str]:
        return {"beh": f"toUInt8({BEHAVIOUR})"}


class Strict(_EveryEvent, _InSequence):
    """The very next tracked event (anything people do) must be the next step."""

    def attempts(self) -> list[str]:
        exprs = self._position_search(1)
        for k in range(1, self.n):
            prev = "s" if k == 1 else "p"
            nxt = f"if({prev} = 0, 0, {self._first(k, f'j = {prev} + 1')})"
            if k == 1:
                args, arrays = self._with_held("s, d", "starts, deadlines")
            else:
                args, arrays = self._with_held("s, d, p", f"starts, deadlines, p{k - 1}")
            exprs.append(f"arrayMap(({args}) -> {nxt}, {arrays}) AS p{k}")
        return exprs


class AnyOrder(Search):
    """Each step's earliest match from the start on, whatever the order; an attempt starts
    at an event of any step, and an event matching two steps counts for both. ``paths``:
    per attempt, the positions found, in order."""

    @property
    def start_bits(self) -> int:
        return (1 << self.n) - 1

    def attempts(self) -> list[str]:
        exprs = self._position_search(0)
        args, arrays = self._with_held("s, d", "starts, deadlines")
        for k in range(self.n):
            exprs.append(f"arrayMap(({args}) -> {self._first(k, 'j >= s')}, {arrays}) AS f{k}")
        found = ", ".join(f"f{k}" for k in range(self.n))
        args = ", ".join(f"a{k}" for k in range(self.n))
        exprs.append(
            f"arrayMap(({args}) -> arraySort(arrayFilter(x -> x > 0, [{args}])), {found}) AS paths"
        )
        return exprs

    def reached(self) -> str:
        return "arrayMap(p -> length(p), paths)"

    def between(self, after: int, before: int) -> tuple[str, str, str, str]:
        return f"p[{after}]", f"length(p) >= {after}", f"p[{before}]", f"length(p) >= {before}"

    def level_arrays(self) -> tuple[str, str]:
        return "p, d", "paths, deadlines"

    def position(self, k: int) -> str:
        return f"paths[best][{k + 1}]"

    def last_position(self) -> str:
        return "paths[best][-1]"


class StrictTimed(_EveryEvent, Ordered):
    """A strict funnel whose steps have gaps: searched on packed keys as ordered funnels are
    (a key holds its event's time, so a gap is a range of keys), the step after ``p`` being
    the very next event people do (the next position)."""

    def _follows(self) -> str:
        mask = (1 << self.position_bits) - 1
        return f"bitAnd(j, {mask}) = bitAnd(p, {mask}) + 1"


def search_for(spec: FunnelSpec) -> type[Search]:
    """The search of ``spec``'s order of steps."""
    if spec.mode == "strict" and spec.gaps:
        return StrictTimed
    return SEARCHES[spec.mode]


SEARCHES: dict[str, type[Search]] = {"ordered": Ordered, "strict": Strict, "any": AnyOrder}

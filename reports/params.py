"""A report's parameters, as text by name: what the CLI's options, the API's query string, the
dashboard's form and a saved report all are. Each is read once, checked, and turned into the
analyzer's value; a parameter nobody read is refused, so a misspelt one is never ignored.

Every error names its parameter (``window: '7x' is not a duration like 30m, 12h or 7d``); the
CLI shows it as ``--window``, the API answers 400 with the name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer import durations
from analyzer.errors import SpecError
from analyzer.funnels.spec import Exclusion, Gap
from analyzer.vocabulary import SET_PREFIX, Breakdown, Filter, Step
from reports.parameters import Param, declared

_FILTER = re.compile(r"^\s*(?P<field>[\w.\-]+)\s*(?P<op>!=|=|~| in )\s*(?P<value>.*)\Z")
_OPS = {"=": "eq", "!=": "neq", "~": "match", " in ": "in"}
LONGEST = 2000  # characters in one value
LONGEST_DAYS = 731  # a period's days, unless told (JOURNEY_LONGEST_RANGE_DAYS)
ALL = "all"  # since=all: from the store's first event
MOST = 50  # values of one parameter


class ParamError(SpecError):
    """A parameter cannot be used; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)
        self.name = name


class Params:
    """Text values by parameter name (a name may repeat, as ``step`` does)."""

    def __init__(self, values: Mapping[str, Sequence[str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, given in values.items():
            listed = [given] if isinstance(given, str) else list(given)
            if len(listed) > MOST:
                raise ParamError(name, f"at most {MOST} values")
            for value in listed:
                if not isinstance(value, str):
                    raise ParamError(name, "a text value")
                if len(value) > LONGEST or "\x00" in value:
                    raise ParamError(name, f"a value of up to {LONGEST} characters")
            self.values[name] = listed
        self.read: set[str] = set()
        self.declared: dict[str, Param] = {}
        self._sets: Callable[[Any], Any] = _no_sets
        self._first: Callable[[bool], datetime | None] | None = None
        self.longest_days = LONGEST_DAYS

    @classmethod
    def of(cls, **given: Any) -> Params:
        """From Python values: None is left out, a tuple or list repeats the name."""
        values: dict[str, list[str]] = {}
        for name, value in given.items():
            if value is None or value is False or value == () or value == []:
                continue
            if value is True:
                value = "true"
            items = value if isinstance(value, (list, tuple)) else [value]
            values[name] = [str(v) for v in items]
        return cls(values)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.values.items()}

    def declare(
        self,
        kind: str,
        sets: Callable[[Any], Any] | None = None,
        first: Callable[[bool], datetime | None] | None = None,
        longest_days: int | None = None,
    ) -> Params:
        """Read as report ``kind``'s parameters (reports.parameters), steps naming touchpoint
        sets (``set:NAME``) resolved by ``sets`` (analyzer.touchpoints.resolve over a store),
        ``since=all`` starting at what ``first`` answers (analyzer.events.first_seen over a
        store, bots' events counted or not) and periods up to ``longest_days``
        (JOURNEY_LONGEST_RANGE_DAYS); returns itself."""
        self.declared = declared(kind)
        if sets is not None:
            self._sets = sets
        if first is not None:
            self._first = first
        if longest_days is not None:
            self.longest_days = longest_days
        return self

    def _resolved(self, step: Step, name: str) -> Step:
        if step.set_name is None:
            return step
        try:
            resolved: Step = self._sets(step)
        except SpecError as exc:
            raise ParamError(name, str(exc)) from None
        return resolved

    def _param(self, name: str, *kinds: str) -> Param:
        """The declaration of ``name``; a reader asking for anything else is a bug in it."""
        found = self.declared.get(name)
        if found is None or (kinds and found.kind not in kinds):
            raise LookupError(f"{name!r} is not a declared {'/'.join(kinds)} parameter")
        self.read.add(name)
        return found

    def _given(self, param: Param) -> list[str]:
        found = [v for v in self.values.get(param.name, []) if v.strip()]
        if param.required and not found:
            raise ParamError(param.name, f"required: {param.help}")
        if not param.many and len(found) > 1:
            raise ParamError(param.name, "given more than once")
        return [v.strip() for v in found] if not param.many else found

    def many(self, name: str) -> list[str]:
        return self._given(self._param(name, "text"))

    def one(self, name: str) -> str | None:
        param = self._param(name, "text")
        found = self._given(param)
        return found[0] if found else None if param.default is None else str(param.default)

    def _text(self, param: Param) -> str | None:
        found = self._given(param)
        return found[0] if found else None

    def integer(self, name: str) -> int:
        """The whole number given, or the declared default."""
        value = self.optional_integer(name)
        if value is None:
            raise LookupError(f"{name!r} is declared without a default")
        return value

    def optional_integer(self, name: str) -> int | None:
        """The whole number given, or the declared default (None if it has none)."""
        param = self._param(name, "integer")
        text = self._text(param)
        if text is None:
            return None if param.default is None else int(param.default)
        low, high = int(param.low or 0), int(param.high or 0)
        if not re.fullmatch(r"-?\d{1,12}", text) or not low <= int(text) <= high:
            raise ParamError(name, f"{text!r} is not a whole number from {low} to {high}")
        return int(text)

    def number(self, name: str) -> float:
        param = self._param(name, "number")
        text = self._text(param)
        if text is None:
            return float(param.default or 0)
        low, high = float(param.low or 0), float(param.high or 0)
        try:
            value = float(text)
        except ValueError:
            raise ParamError(name, f"{text!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ParamError(name, f"{text!r} is not a number from {low:g} to {high:g}")
        return value

    def choice(self, name: str) -> str:
        """One of the declared choices, or the declared default."""
        value = self.optional_choice(name)
        if value is None:
            raise LookupError(f"{name!r} is declared without a default")
        return value

    def optional_choice(self, name: str) -> str | None:
        param = self._param(name, "choice")
        text = self._text(param)
        if text is None:
            return None if param.default is None else str(param.default)
        if text not in param.choices:
            raise ParamError(name, f"{text!r} is not one of {', '.join(param.choices)}")
        return text

    def flag(self, name: str) -> bool:
        text = self._text(self._param(name, "flag"))
        if text is None:
            return False
        if text not in ("true", "false", "1", "0"):
            raise ParamError(name, f"{text!r} is not one of true, false, 1, 0")
        return text in ("true", "1")

    def duration(self, name: str) -> timedelta:
        param = self._param(name, "duration")
        text = self._text(param) or str(param.default)
        try:
            return durations.parse(text)
        except ValueError as exc:
            raise ParamError(name, str(exc)) from None

    def moment(self, name: str) -> datetime | None:
        text = self._text(self._param(name, "date"))
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ParamError(name, f"{text!r} is not a date like 2024-05-01") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def period(self, today: datetime | None = None) -> tuple[datetime, datetime]:
        """``since`` (default 30 days ago; ``all``: the day of the store's first event) to
        ``until`` (default tomorrow), at most ``longest_days`` apart."""
        today = (today or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        whole = (self._text(self._param("since", "date")) or "").strip().lower() == ALL
        since = self._all_time() if whole else self.moment("since")
        since = since or today - timedelta(days=30)
        until = self.moment("until") or today + timedelta(days=1)
        if until <= since:
            raise ParamError("until", "must be after since")
        longest = timedelta(days=self.longest_days)
        if until - since > longest and whole:
            raise ParamError(
                "since",
                f"all time here is {(until - since).days} days (from {since.date()}), more than "
                f"the longest period a report reads, {self.longest_days} days "
                "(JOURNEY_LONGEST_RANGE_DAYS); give a later since",
            )
        if until - since > longest:
            raise ParamError(
                "until",
                f"at most {self.longest_days} days after since, the longest period a report "
                "reads (JOURNEY_LONGEST_RANGE_DAYS)",
            )
        return since, until

    def _all_time(self) -> datetime | None:
        """The day of the first event the report would read (None: the store has none)."""
        if self._first is None:
            raise ParamError("since", "all time needs a store to read the first event from")
        bots = "include_bots" in self.declared and self.flag("include_bots")
        first = self._first(bots)
        return None if first is None else first.replace(hour=0, minute=0, second=0, microsecond=0)

    def step(self, name: str) -> Step:
        """One step (``NAME[|filters]``), required by its declaration."""
        (text,) = self._given(self._param(name, "step"))
        return self._resolved(parse_step(text, name), name)

    def element_or_set(self, name: str) -> tuple[str | None, Step | None]:
        """A text parameter that may instead name a touchpoint set (``set:NAME[|filters]``):
        the text, or the set resolved to its touchpoints."""
        text = self.one(name)
        if text is None or not text.startswith(SET_PREFIX):
            return text, None
        return None, self._resolved(parse_step(text, name), name)

    def steps(self, name: str = "step") -> tuple[Step, ...]:
        return tuple(
            self._resolved(parse_step(t, name), name)
            for t in self._given(self._param(name, "step"))
        )

    def exclusions(self, name: str = "exclude") -> tuple[Exclusion, ...]:
        return tuple(
            replace(x, step=self._resolved(x.step, name))
            for x in (_exclusion(t, name) for t in self._given(self._param(name, "exclusion")))
        )

    def gaps(self, name: str = "gap") -> tuple[Gap, ...]:
        """``N=LEAST-MOST`` per step: the time allowed since the step before (either bound
        may be left out)."""
        return tuple(_gap(text, name) for text in self.many(name))

    def breakdown(self, attributed: bool = True) -> Breakdown | None:
        """``breakdown`` (a field, or ``segment:NAME,...``) and, where the report takes it,
        ``attribution`` (``attributed``: which event of an attempt gives the value)."""
        fields = [f.strip() for f in self.many("breakdown")]
        attribution = (self.one("attribution") if attributed else None) or "first_touch"
        if not fields:
            return None
        field, more = fields[0], tuple(fields[1:])
        if any(f.startswith("segment:") for f in fields):
            if more:
                raise ParamError("breakdown", "segments are broken down by alone")
            names = tuple(n.strip() for n in field[8:].split(",") if n.strip())
            return Breakdown("segment", segments=names)
        if attribution.startswith("step:"):
            number = attribution[5:]
            if not number.isdigit():
                raise ParamError("attribution", "step:N takes a step number")
            return Breakdown(field, "step", int(number), more=more)
        return Breakdown(field, attribution, more=more)

    def done(self) -> None:
        """Refuse parameters nobody read: a misspelt name must not be silently ignored, nor
        one this report takes only beside another (paths' ``mode`` without ``dropped_at``)."""
        for name in sorted(set(self.values) - self.read):
            if name in self.declared:
                raise ParamError(name, "not used by this report with the parameters given")
            known = ", ".join(sorted(self.declared))
            raise ParamError(name, f"unknown parameter; this report takes {known}")


def _no_sets(step: Any) -> Any:
    raise SpecError("step", "touchpoint sets are read from a store, and this report has none")


def parse_step(text: str, name: str = "step") -> Step:
    """``NAME`` or ``NAME|FIELD OP VALUE|...`` with OP one of ``=``, ``!=``, ``~`` (regular
    expression) and `` in `` (comma-separated values)."""
    event, *filters = text.split("|")
    parsed = []
    for raw in filters:
        m = _FILTER.match(raw)
        if not m:
            raise ParamError(
                name, f"{raw!r} is not FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD in A,B"
            )
        op = _OPS[m["op"]]
        value: Any = [v.strip() for v in m["value"].split(",")] if op == "in" else m["value"]
        parsed.append(Filter(m["field"], op, value))
    if not event.strip():
        raise ParamError(name, f"{text!r} names no event")
    return Step(event.strip(), tuple(parsed))


def _gap(text: str, name: str) -> Gap:
    """``N=LEAST-MOST``: step N comes LEAST to MOST after the step before (30m, 2h, 7d)."""
    m = re.fullmatch(r"\s*(\d+)\s*=\s*([0-9a-z]*)\s*-\s*([0-9a-z]*)\s*", text)
    if not m or not (m[2] or m[3]):
        raise ParamError(name, f"{text!r} is not N=LEAST-MOST, e.g. 2=-1h, 3=5m- or 2=1m-2d")
    try:
        least = durations.parse(m[2]) if m[2] else timedelta(0)
        most = durations.parse(m[3]) if m[3] else None
    except ValueError as exc:
        raise ParamError(name, f"{text!r}: {exc}") from None
    return Gap(int(m[1]), least, most)


def _exclusion(text: str, name: str) -> Exclusion:
    """``STEP`` or ``STEP@A-B`` (between funnel steps A and B)."""
    step, _, between = text.partition("@")
    if not between:
        return Exclusion(parse_step(step, name))
    m = re.fullmatch(r"(\d+)-(\d+)", between)
    if not m:
        raise ParamError(name, f"{between!r} is not A-B (step numbers)")
    return Exclusion(parse_step(step, name), int(m[1]), int(m[2]))

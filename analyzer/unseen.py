"""What a report names that never occurs in its period: a step's event, a touchpoint of a set, a
filter's value. Each comes back with the closest names that do occur ("did you mean 'Order
Completed'?"), so a misspelt step is a warning beside the result instead of a silent zero.

Only exact names are checked: an event, and the value of an ``=`` or ``in`` filter; a regular
expression or a ``!=`` filter names nothing to look for.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzer.events import BEHAVIOUR, humans
from analyzer.query import Query
from analyzer.vocabulary import Filter, Step
from storage.sql import identifier
from storage.store import Store

SUGGESTIONS = 3
LISTED_VALUES = 5000  # values of one field read back to suggest from


@dataclass(frozen=True)
class Unseen:
    """``value`` of ``parameter`` never occurs in the period; ``did_you_mean`` is what does."""

    parameter: str
    value: str
    did_you_mean: tuple[str, ...]
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "value": self.value,
            "did_you_mean": list(self.did_you_mean),
            "message": self.message,
        }


def closest(name: str, known: Sequence[str]) -> tuple[str, ...]:
    """The known names most like ``name``, best first (case and spacing forgiven)."""
    folded = {k.casefold().strip(): k for k in known}
    found = difflib.get_close_matches(name.casefold().strip(), folded, SUGGESTIONS, 0.6)
    return tuple(folded[f] for f in found)


def unseen(
    store: Store,
    named: Sequence[tuple[str, Step]],
    since: datetime,
    until: datetime,
    include_bots: bool = False,
) -> list[Unseen]:
    """What the ``(parameter, step)`` pairs name that no event in [since, until) has."""
    if not named:
        return []
    span = _Span(store, since, until, include_bots)
    span.look_for({t.event for _, step in named for t in (step.any_of or (step,)) if t.event})
    found: list[Unseen] = []
    for parameter, step in named:
        touchpoints = step.any_of or (step,)
        where = f" (a touchpoint of set {step.event!r})" if step.any_of else ""
        for touchpoint in touchpoints:
            found += span.check(parameter, touchpoint, where)
    return list(dict.fromkeys(found))  # a name given twice is said once


class _Span:
    """The period's events: first only whether the names asked for occur (one light read),
    and every name with its count only when one does not, to suggest from."""

    def __init__(self, store: Store, since: datetime, until: datetime, bots: bool) -> None:
        self.store = store
        self.period = f"between {since:%Y-%m-%d} and {until:%Y-%m-%d}"
        self.where = (
            f"{BEHAVIOUR} AND {humans(bots)} AND timestamp >= toDateTime(%(since)s) "
            "AND timestamp < toDateTime(%(until)s)"
        )
        self.bound: dict[str, Any] = {
            "since": int(since.timestamp()),
            "until": int(until.timestamp()),
        }
        self.table = f"{identifier(store.database)}.events"
        self._events: list[str] | None = None
        self.known: set[str] = set()

    def look_for(self, names: set[str]) -> None:
        """Which of ``names`` occur in the period."""
        if names:
            rows = self.store.execute(
                f"SELECT DISTINCT event FROM {self.table} WHERE {self.where} "
                "AND event IN %(names)s",
                {**self.bound, "names": tuple(sorted(names))},
            )
            self.known = {str(e) for (e,) in rows}

    @property
    def events(self) -> list[str]:
        """Every event name of the period, most frequent first (read when first needed)."""
        if self._events is None:
            rows = self.store.execute(
                f"SELECT event, count() AS n FROM {self.table} WHERE {self.where} "
                "AND event != '' GROUP BY event ORDER BY n DESC, event",
                self.bound,
            )
            self._events = [str(e) for e, _ in rows]
        return self._events

    def check(self, parameter: str, step: Step, where: str) -> list[Unseen]:
        if step.event and step.event not in self.known:
            suggested = closest(step.event, self.events)
            return [self._unseen(parameter, step.event, f"event {step.event!r}{where}", suggested)]
        return [
            found
            for f in step.filters
            if f.op in ("eq", "in")
            for found in self._values(parameter, step, f, where)
        ]

    def _values(self, parameter: str, step: Step, f: Filter, where: str) -> list[Unseen]:
        bound = dict(self.bound)
        column = Query(bound).field(f.field)
        condition = self.where
        if step.event:
            bound["event"] = step.event
            condition += " AND event = %(event)s"
        wanted = tuple(f.value) if f.op == "in" else (f.value,)
        rows = self.store.execute(
            f"SELECT DISTINCT {column} FROM {self.table} WHERE {condition} "
            f"AND {column} IN %(wanted)s",
            {**bound, "wanted": wanted},
        )
        present = {str(value) for (value,) in rows}
        missing = [v for v in wanted if v not in present]
        if not missing:
            return []
        listed = self.store.execute(
            f"SELECT {column} AS value, count() AS n FROM {self.table} WHERE {condition} "
            f"GROUP BY value ORDER BY n DESC, value LIMIT {LISTED_VALUES}",
            bound,
        )
        seen = [str(v) for v, _ in listed if v != ""]
        of = f" of {step.event!r}" if step.event else ""
        return [
            self._unseen(
                parameter, value, f"{f.field} = {value!r}{of}{where}", closest(value, seen)
            )
            for value in missing
        ]

    def _unseen(self, parameter: str, value: str, what: str, suggested: tuple[str, ...]) -> Unseen:
        message = f"{parameter}: {what} never occurs {self.period}"
        if suggested:
            message += "; did you mean " + " or ".join(repr(s) for s in suggested) + "?"
        else:
            message += "; `journey report events` lists the events that do"
        return Unseen(parameter, value, suggested, message)

"""A statement's bound values, each named by the query itself, and the vocabulary
(analyzer.vocabulary) as SQL over them: a field of an event, a filter, a step as the condition
an event meets. Values are bound, never pasted; a caller asks ``add`` for a placeholder instead
of inventing a key and writing it into a dict it threads along (as PostHog's HogQL context's
``add_value`` does)."""

from __future__ import annotations

from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR, property_text
from analyzer.vocabulary import COLUMNS, FIELD_SEPARATOR, Filter, Step
from storage.sql import identifier


class Query:
    """The values one statement binds (``values``, given to the store with the SQL)."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        # a statement built in parts may share the values of the parts built before
        self.values: dict[str, Any] = {} if values is None else values

    def name(self, value: Any, hint: str = "v") -> str:
        """``value`` bound under a name of the query's own, starting with ``hint``: the name."""
        name = f"_{hint}{len(self.values)}"
        while name in self.values:
            name += "_"
        self.values[name] = value
        return name

    def bind(self, name: str, value: Any) -> str:
        """``value`` bound under a name the statement's SQL spells out (``%(from_s)s``): its
        placeholder. Binding a name again to another value is refused: two parts of one
        statement would read each other's value."""
        if name in self.values and self.values[name] != value:
            raise ValueError(f"{name!r} is bound already, to another value")
        self.values[name] = value
        return f"%({name})s"

    def update(self, values: dict[str, Any]) -> None:
        """Each of ``values`` bound under its name (``bind``)."""
        for name, value in values.items():
            self.bind(name, value)

    def add(self, value: Any, hint: str = "v") -> str:
        """``value`` bound under a name of the query's own: its placeholder, ``%(name)s``."""
        return f"%({self.name(value, hint)})s"

    def field(self, name: str) -> str:
        """An event column, or the text of ``properties.<path>``."""
        if name in COLUMNS:
            return identifier(name)
        return property_text(self.name(name.split(".", 1)[1], "path"))

    def fields(self, names: tuple[str, ...]) -> str:
        """One field, or the texts of several joined by FIELD_SEPARATOR (a breakdown by a
        combination of fields)."""
        if len(names) == 1:
            return self.field(names[0])
        parts = ", ".join(self.field(n) for n in names)
        return f"arrayStringConcat([{parts}], {self.bind('field_separator', FIELD_SEPARATOR)})"

    def filter(self, f: Filter) -> str:
        """The condition ``f`` puts on an event."""
        column = self.field(f.field)
        value = self.add(tuple(f.value) if f.op == "in" else f.value, "f")
        return {
            "eq": f"{column} = {value}",
            "neq": f"{column} != {value}",
            "in": f"{column} IN {value}",
            "match": f"match({column}, {value})",
        }[f.op]

    def step(self, step: Step) -> str:
        """The condition an event meets to count as ``step``: its event and filters, or any of
        its touchpoints (one condition, so an event matching several counts once)."""
        if step.set_name is not None:
            raise SpecError(f"{step.event!r}", "touchpoint sets are resolved before SQL is built")
        if step.any_of:
            return "(" + " OR ".join(self.step(t) for t in step.any_of) + ")"
        parts = []
        if step.event:
            parts.append(f"event = {self.add(step.event, 'event')}")
        else:  # a touchpoint its filters name: something people do, never an identify or alias
            parts.append(BEHAVIOUR)
        parts += [self.filter(f) for f in step.filters]
        return "(" + " AND ".join(parts or ["1"]) + ")"

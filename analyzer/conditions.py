"""The vocabulary (analyzer.vocabulary) as SQL: a field of an event, a filter, a step as the
condition an event meets. Values are bound under names the caller gives (``params``)."""

from __future__ import annotations

from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR, property_text
from analyzer.vocabulary import COLUMNS, Filter, Step
from storage.sql import identifier


def field_sql(name: str, params: dict[str, Any], key: str) -> str:
    """SQL for an event column or ``properties.<key>`` (the key bound as ``%(key)s``)."""
    if name in COLUMNS:
        return identifier(name)
    params[key] = name.split(".", 1)[1]
    return property_text(key)


def filter_sql(f: Filter, name: str, params: dict[str, Any]) -> str:
    column = field_sql(f.field, params, f"{name}_key")
    params[name] = tuple(f.value) if f.op == "in" else f.value
    return {
        "eq": f"{column} = %({name})s",
        "neq": f"{column} != %({name})s",
        "in": f"{column} IN %({name})s",
        "match": f"match({column}, %({name})s)",
    }[f.op]


def step_sql(step: Step, name: str, params: dict[str, Any]) -> str:
    """The SQL condition an event meets to count as ``step``: its event and filters, or any of
    its touchpoints (one condition, so an event matching several counts once)."""
    if step.set_name is not None:
        raise SpecError(f"{step.event!r}", "touchpoint sets are resolved before SQL is built")
    if step.any_of:
        return (
            "("
            + " OR ".join(step_sql(t, f"{name}t{i}", params) for i, t in enumerate(step.any_of))
            + ")"
        )
    parts = []
    if step.event:
        params[name] = step.event
        parts.append(f"event = %({name})s")
    else:  # a touchpoint its filters name: something people do, never an identify or alias
        parts.append(BEHAVIOUR)
    parts += [filter_sql(f, f"{name}f{j}", params) for j, f in enumerate(step.filters)]
    return "(" + " AND ".join(parts or ["1"]) + ")"

"""Touchpoint sets (PostHog's actions): a named set of touchpoints, each an event with filters,
usable wherever an analysis takes an event, as ``set:NAME``. A journey stage such as
"consideration" is reached through several touchpoints (viewing pricing, comparing plans,
starting a trial); a step naming the set counts an event matching any of them, once.

Sets are defined in versioned documents, like segments and alert rules::

    version: 1
    touchpoints:
      - name: consideration
        description: Looking closely at what they would buy
        any_of:
          - Plans Compared                     # an event, by name
          - event: Trial Started
            where: [{field: properties.plan, op: in, value: [pro, team]}]
          - where:                             # no event name: what the filters say
              - {field: type, op: eq, value: page}
              - {field: page_path, op: match, value: "^/pricing"}

A step written ``set:consideration|utm_source=google`` narrows every touchpoint of the set by
its own filters. Each analysis reads the latest version of a set when it runs
(``resolve``); an analysis naming a set nobody defined is refused, naming the set.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from analyzer.documents import DocumentError, entries, fail, filters, keys, read, text
from analyzer.errors import SpecError
from analyzer.vocabulary import MAX_TOUCHPOINTS, SET_NAME, Step
from storage import versioned
from storage.store import Store

TABLE = "touchpoint_sets"
FORMAT_VERSION = 1
T = TypeVar("T")


@dataclass(frozen=True)
class TouchpointSet:
    name: str
    touchpoints: tuple[Step, ...]
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict, compare=False)  # as written

    def step(self, narrowed: tuple[Any, ...] = ()) -> Step:
        """The step meaning any of these touchpoints (each narrowed by ``narrowed`` filters)."""
        return Step(
            self.name,
            (),
            tuple(dataclasses.replace(t, filters=t.filters + narrowed) for t in self.touchpoints),
        )


@dataclass(frozen=True)
class Stored:
    touchpoints: TouchpointSet
    version: int
    created_at: datetime


def _touchpoint(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        step = Step(raw)
    elif isinstance(raw, dict):
        keys(raw, ("event", "where"), where)
        event = raw.get("event", "")
        if not isinstance(event, str):
            raise fail(f"{where}.event", "an event name of 1 to 200 characters")
        step = Step(event, filters(raw.get("where"), f"{where}.where"))
    else:
        raise fail(where, "an event name, or {event, where: [{field, op, value}]}")
    if step.set_name is not None:
        raise fail(where, "a touchpoint is an event; a set cannot hold another set")
    try:
        step.validate(where, touchpoint=True)
    except SpecError as exc:
        if not step.event and not step.filters:
            raise fail(where, "an event name, or filters saying which events") from None
        raise DocumentError(exc.field, exc.message) from None
    return step


# A set's size as written: every step naming it carries its conditions into the SQL, so a set
# of megabytes made every query using it fail after seconds (the largest real one is ~2 KB).
MAX_SET_BYTES = 64 * 1024


def parse_set(raw: Any, where: str) -> TouchpointSet:
    if not isinstance(raw, dict):
        raise fail(where, "a touchpoint set {name, any_of: [...]}")
    size = len(json.dumps(raw, default=str))
    if size > MAX_SET_BYTES:
        raise fail(where, f"{size:,} bytes as JSON; a touchpoint set may have {MAX_SET_BYTES:,}")
    keys(raw, ("name", "description", "any_of"), where)
    name = raw.get("name")
    if not isinstance(name, str) or not SET_NAME.match(name):
        raise fail(
            f"{where}.name", "1 to 64 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    items = raw.get("any_of")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_TOUCHPOINTS:
        raise fail(f"{where}.any_of", f"a list of 1 to {MAX_TOUCHPOINTS} touchpoints")
    touchpoints = tuple(_touchpoint(t, f"{where}.any_of[{i}]") for i, t in enumerate(items))
    description = text(raw.get("description", ""), f"{where}.description")
    return TouchpointSet(name, touchpoints, description, raw)


def parse_document(doc: Any, where: str = "") -> list[TouchpointSet]:
    """Every set of a document ``{version: 1, touchpoints: [...]}``."""
    return entries(doc, where, "touchpoints", FORMAT_VERSION, parse_set)


def load(path: Path) -> list[TouchpointSet]:
    """The sets of a ``.yaml``/``.yml`` or ``.json`` file."""
    return parse_document(read(path), str(path))


def dumps(s: TouchpointSet) -> str:
    """The set as it was written, as canonical JSON (what versions compare)."""
    return json.dumps(s.source, sort_keys=True, separators=(",", ":"), default=str)


def stored(store: Store) -> dict[str, Stored]:
    """The latest version of every defined set, by name."""
    return {
        name: Stored(parse_set(json.loads(v.text), name), v.version, v.created_at)
        for name, v in versioned.latest(store, TABLE).items()
    }


def define(store: Store, sets: list[TouchpointSet]) -> dict[str, int]:
    """Store each set unless its latest version is the same; name -> version."""
    return versioned.save(store, TABLE, {s.name: dumps(s) for s in sets})


def drop(store: Store, name: str) -> None:
    """Retire a set: a version with no definition. Its history is kept; analyses naming it
    are refused from now on."""
    if not versioned.drop(store, TABLE, name):
        raise DocumentError(f"name: no touchpoint set {name!r}")


def resolve(store: Store, obj: T) -> T:
    """``obj`` (a spec, a definition, a rule: frozen dataclasses, tuples, lists) with every
    step naming a set (``set:NAME``) replaced by the set's touchpoints, read once; a set nobody
    defined is a SpecError naming it. Objects without such a step come back as they are,
    without reading the store."""
    sets: dict[str, Stored] | None = None

    def lookup(name: str) -> TouchpointSet:
        nonlocal sets
        if sets is None:
            sets = stored(store)
        if name not in sets:
            known = ", ".join(sorted(sets)) or "none is defined"
            raise SpecError(f"set:{name}", f"no touchpoint set of that name ({known})")
        return sets[name].touchpoints

    return _walk(obj, lambda s: lookup(s.set_name).step(s.filters) if s.set_name else s)


def _walk(obj: Any, on_step: Callable[[Step], Step]) -> Any:
    if isinstance(obj, Step):
        return on_step(obj)
    if isinstance(obj, tuple):
        walked = tuple(_walk(o, on_step) for o in obj)
        return obj if all(a is b for a, b in zip(walked, obj, strict=True)) else walked
    if isinstance(obj, list):
        walked_list = [_walk(o, on_step) for o in obj]
        return obj if all(a is b for a, b in zip(walked_list, obj, strict=True)) else walked_list
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            walked = _walk(value, on_step)
            if walked is not value:
                changes[f.name] = walked
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj

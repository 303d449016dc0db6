"""Properties and traits as paths and values: what analyses read instead of parsing JSON.

An event's ``properties`` (and ``traits``) are written twice: as the JSON sent, and as two
parallel arrays, ``property_keys`` and ``property_values``, that analyses look a key up in
(``property_values[indexOf(property_keys, key)]``: correct and fast on every ClickHouse from
18.16 on, which has no ``JSONExtract``). The arrays hold, in this order:

1. every **top-level key** with its value: a string as it is, a number or a boolean as its JSON
   text (``19.99``, ``true``), null as an empty string, an object or an array as compact JSON;
2. then every **nested leaf** by its path, keys joined by ``.`` and array positions in
   brackets from 0: ``products[0].price``, ``address.country``, ``company.name``.

So ``properties.category`` means the top-level ``category`` as the Segment spec does, never a
``category`` inside ``products``; and ``properties.products[0].category`` reaches the nested
one. A top-level key comes first, so it wins over a nested path spelled the same way (a key
``"a.b"`` over ``{"a": {"b": ...}}``). Nested leaves beyond ``MAX_PATHS`` per event (or deeper
than ``MAX_DEPTH``) are not listed; the JSON keeps them.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_PATHS = 1000
MAX_DEPTH = 16
# What an analysis may name: a key, then ``.key`` or ``[index]`` steps; a key is anything but
# ".", "[", "]" and control characters (letters, digits, spaces, "-", "_", "$"...).
_KEY = r"[^.\[\]\x00-\x1f]+"
NOTATION = re.compile(rf"^{_KEY}(?:\.{_KEY}|\[\d{{1,6}}\])*$")
MAX_NOTATION = 200


def is_path(name: object) -> bool:
    """Whether ``name`` is a property or trait path in the notation above."""
    return isinstance(name, str) and len(name) <= MAX_NOTATION and bool(NOTATION.match(name))


def text(value: Any) -> str:
    """A JSON value as the text an analysis compares: strings unquoted, null empty."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def paths(document: Any) -> tuple[list[str], list[str]]:
    """The keys and values of an event's properties or traits (an object; anything else has
    none), top-level keys first and then nested leaves by path."""
    if not isinstance(document, dict) or not document:
        return [], []
    keys: list[str] = []
    values: list[str] = []
    nested: list[tuple[str, Any]] = []
    for key, value in document.items():
        keys.append(key)
        values.append(text(value))
        if isinstance(value, (dict, list)) and value:
            nested.append((key, value))
    budget = MAX_PATHS
    for key, value in nested:
        budget = _leaves(key, value, keys, values, budget, 1)
        if budget <= 0:
            break
    return keys, values


def _leaves(
    path: str, value: Any, keys: list[str], values: list[str], budget: int, depth: int
) -> int:
    """Append the leaves under ``path``; the budget of paths left."""
    if depth > MAX_DEPTH:
        return budget
    items = (
        ((f"{path}.{k}", v) for k, v in value.items())
        if isinstance(value, dict)
        else ((f"{path}[{i}]", v) for i, v in enumerate(value))
    )
    for child, v in items:
        if budget <= 0:
            return 0
        if isinstance(v, (dict, list)):
            if v:
                budget = _leaves(child, v, keys, values, budget, depth + 1)
            continue
        keys.append(child)
        values.append(text(v))
        budget -= 1
    return budget

"""Properties and traits as paths: what analyses read instead of the JSON as sent.

An event's ``properties`` (and ``traits``) are written twice: as the JSON sent, and flattened
into ``property_paths`` (``trait_paths``): one JSON object with no nesting, from each path to its
value as text. Analyses read a path with ``visitParamExtractString(property_paths, path)``:
exact, since nothing is nested (``visitParamExtract*`` on the JSON as sent takes the first key of
that name at any depth: a product's ``category`` for the order's), and as fast as reading the
JSON itself, on every ClickHouse from 18.16 on (which has no ``JSONExtract``).

The object holds, in this order:

1. every **top-level** key with a value that is not an object or array: a string as it is, a
   number or boolean as its JSON text (``"19.99"``, ``"true"``), null as ``""``;
2. then every **nested leaf** by its path, keys joined by ``.`` and array positions in brackets
   from 0: ``products[0].price``, ``address.country``, ``company.name``.

So ``properties.category`` means the top-level ``category`` as the Segment spec does, never a
``category`` inside ``products``; and ``properties.products[0].category`` reaches the nested one.
An object or array is reached by its leaves, not as JSON text. A top-level key comes first, so it
wins over a nested path spelled the same way (a key ``"a.b"`` over ``{"a": {"b": ...}}``).
Nested leaves beyond ``MAX_PATHS`` per event (or deeper than ``MAX_DEPTH``) are not listed, nor
keys holding ``"`` or ``\\``, nor paths longer than ``MAX_NOTATION`` characters, which no
analysis can name; the JSON as sent keeps them all. So the flattened object of an event is at
most about ``MAX_PATHS`` x ``MAX_NOTATION`` characters beside its values: long keys nested deep
once made one 31.5 KB event 22.5 MB of paths (each leaf repeating every key above it), enough to
stall every insert after it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_PATHS = 1000
MAX_DEPTH = 16
# What an analysis may name: a key, then ``.key`` or ``[index]`` steps; a key is anything but
# ".", "[", "]", '"', "\" and control characters (letters, digits, spaces, "-", "_", "$"...).
_KEY = r'[^.\[\]"\\\x00-\x1f]+'
NOTATION = re.compile(rf"^{_KEY}(?:\.{_KEY}|\[\d{{1,6}}\])*$")
MAX_NOTATION = 200
_UNNAMEABLE = re.compile(r'["\\\x00-\x1f]')
EMPTY = "{}"


def is_path(name: object) -> bool:
    """Whether ``name`` is a property or trait path in the notation above."""
    return isinstance(name, str) and len(name) <= MAX_NOTATION and bool(NOTATION.match(name))


def text(value: Any) -> str:
    """A JSON scalar as the text an analysis compares: strings unquoted, null empty."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def paths(document: Any) -> str:
    """The flattened object of an event's properties or traits (an object; anything else has
    no paths): compact JSON, top-level values first, then nested leaves by path."""
    if not isinstance(document, dict) or not document:
        return EMPTY
    flat: dict[str, str] = {}
    nested = []
    for key, value in document.items():  # per event on the loader's path: kept lean
        kind = type(value)
        if kind is str:
            flat[key] = value
        elif kind is dict or kind is list:
            if value:
                nested.append((key, value))
        else:
            flat[key] = "" if value is None else orjson.dumps(value).decode()
    if _UNNAMEABLE.search("".join(flat)) or any(len(k) > MAX_NOTATION for k in flat):
        flat = {
            k: v for k, v in flat.items() if len(k) <= MAX_NOTATION and not _UNNAMEABLE.search(k)
        }  # rarely: a key no path can name
    budget = MAX_PATHS
    for key, value in nested:
        if budget <= 0 or len(key) >= MAX_NOTATION or _UNNAMEABLE.search(key):
            continue
        budget = _leaves(key, value, flat, budget, 1)
    return orjson.dumps(flat).decode()


def _leaves(path: str, value: Any, flat: dict[str, str], budget: int, depth: int) -> int:
    """Add the leaves under ``path``; the budget of paths left."""
    if depth > MAX_DEPTH:
        return budget
    items = (
        ((f"{path}.{k}", v, k) for k, v in value.items())
        if isinstance(value, dict)
        else ((f"{path}[{i}]", v, "") for i, v in enumerate(value))
    )
    for child, v, key in items:
        if budget <= 0:
            return 0
        if len(child) > MAX_NOTATION or _UNNAMEABLE.search(key):
            continue  # too long a path to name (and every path under it longer still)
        if isinstance(v, (dict, list)):
            if v:
                budget = _leaves(child, v, flat, budget, depth + 1)
            continue
        if child not in flat:  # a top-level key spelled like this path wins
            flat[child] = text(v)
            budget -= 1
    return budget

"""Bind parameters into SQL text, the same way for the server and for chDB.

Queries name their parameters as ``%(name)s``. Values are escaped here by type; anything that is
not a plain value (a dict, an object) is refused, so user input can never become SQL. Table and
column names are never parameters: they come from code, checked by ``identifier``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from core.identifiers import identifier

__all__ = ["bind", "identifier", "literal"]

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\r": "\\r",
    "\n": "\\n",
    "\t": "\\t",
    "\0": "\\0",
    "\a": "\\a",
    "\v": "\\v",
}


def literal(value: Any) -> str:
    """The ClickHouse literal for one value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinity cannot be bound")
        return repr(value)
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(c, c) for c in value) + "'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"toDateTime('{value:%Y-%m-%d %H:%M:%S}', 'UTC')"
    if isinstance(value, date):
        return f"toDate('{value:%Y-%m-%d}')"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        # one element: tuple(x), since old servers refuse Python's ('x',) and read ('x') as x
        return f"tuple({inner})" if len(value) == 1 else f"({inner})"
    raise TypeError(f"cannot bind a {type(value).__name__} into SQL")


def bind(sql: str, params: Mapping[str, Any] | None = None) -> str:
    """``sql`` with every ``%(name)s`` replaced by the literal of ``params[name]``."""
    if not params:
        return sql
    missing = [m for m in re.findall(r"%\((\w+)\)s", sql) if m not in params]
    if missing:
        raise KeyError(f"no value for SQL parameter {missing[0]!r}")
    return sql % {k: literal(v) for k, v in params.items()}

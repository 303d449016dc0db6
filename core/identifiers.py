"""SQL identifiers: what a database, table or column name may be. Here, below everything, since
settings check the names they are given (JOURNEY_CLICKHOUSE_CLUSTER) and storage.sql builds
statements from them."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


def identifier(name: str) -> str:
    """A database, table or column name, refused unless it is a plain identifier."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name

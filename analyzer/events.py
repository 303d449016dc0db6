"""The one way analytics read events: each event_id once, whatever replays left in the table.

ReplacingMergeTree collapses repeated rows only when it merges, which is never a promise; and a
client retry after a lost answer can carry a slightly different server time. So every query
reads through ``deduplicated()``, which keeps one row per event_id.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.sql import identifier

# What people do (as opposed to identify, alias, group): what paths, sessions and strict funnels
# are made of.
BEHAVIOUR = "type IN ('track', 'page', 'screen')"


def deduplicated(database: str, columns: Sequence[str], where: str = "1") -> str:
    """A subquery of ``columns`` with one row per event_id. ``where`` is code-built SQL whose
    values are ``%(name)s`` parameters."""
    cols = ", ".join(identifier(c) for c in dict.fromkeys(["event_id", *columns]))
    return f"(SELECT {cols} FROM {identifier(database)}.events WHERE {where} LIMIT 1 BY event_id)"

"""Add property and trait paths to events: each flattened into one object of path to text.

Analyses read ``properties.<path>`` and traits from them instead of ``visitParamExtract*``,
which takes the first key of that name at any depth (a product's ``category`` for the order's).
Events loaded before this migration are written again with their paths (same event, a newer
``loaded_at``, which ReplacingMergeTree keeps) and the old copies deleted, one month at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from storage import mutations
from storage.migrations.runner import Migrator
from storage.paths import EMPTY, paths

PATHS = ("property_paths", "trait_paths")
# Rows written before the paths existed (the loader writes '{}' for none).
UNLISTED = "(properties != '{}' AND property_paths = '') OR (traits != '{}' AND trait_paths = '')"
TIMES = ("timestamp", "original_timestamp", "sent_at", "received_at")
MUTATION_TIMEOUT_S = 3600.0
ROWS_PER_PASS = 200_000


def forwards(m: Migrator) -> None:
    after = "geo_country"  # the loader's insert order (loader.decode.COLUMNS)
    for column in PATHS:
        m.add_column("events", column, "String", after=after)
        after = column
    backfill(m)


def backfill(m: Migrator) -> int:
    """Write the events loaded without paths again with them; how many were written."""
    store = m.store
    names = [
        str(r[0])
        for r in store.execute(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s "
            "AND default_kind = ''",
            {"db": store.database, "t": "events"},
        )
    ]
    copied = [n for n in names if n not in (*PATHS, "loaded_at")]
    select = ", ".join(f"toUInt32({c})" if c in TIMES else c for c in copied)
    months = store.execute(
        f"SELECT toYYYYMM(timestamp) AS month, count() FROM {m.db}.events WHERE {UNLISTED} "
        "GROUP BY month ORDER BY month"
    )
    stamp = int(datetime.now(UTC).timestamp())
    at_p, at_t = copied.index("properties"), copied.index("traits")
    written = 0
    for month, count in months:
        parts = -(-int(count) // ROWS_PER_PASS)  # a month's rows in passes of bounded memory
        for part in range(parts):
            rows = store.execute(
                f"SELECT {select} FROM {m.db}.events WHERE toYYYYMM(timestamp) = %(month)s "
                f"AND modulo(cityHash64(event_id), %(parts)s) = %(part)s AND ({UNLISTED}) "
                "LIMIT 1 BY event_id",
                {"month": int(month), "parts": parts, "part": part},
            )
            if not rows:
                continue
            store.insert(
                "events",
                [*copied, *PATHS, "loaded_at"],
                [(*row, _paths(row[at_p]), _paths(row[at_t]), stamp) for row in rows],
            )
            written += len(rows)
    if written:
        mutations.delete(store, "events", UNLISTED)
        mutations.wait(store, MUTATION_TIMEOUT_S)
    return written


def _paths(document: str) -> str:
    try:
        return paths(orjson.loads(document))
    except orjson.JSONDecodeError:
        return EMPTY

"""How Journey's tables are laid out on a ClickHouse cluster (``JOURNEY_CLICKHOUSE_CLUSTER``).

On one node every table is a plain MergeTree-family table. On a cluster:

- **Sharded tables** (the events, and the tables with a row per person) keep their rows in
  ``<name>_local``, a Replicated*MergeTree on every node whose ZooKeeper path holds the
  ``{shard}`` macro, so the replicas of a shard copy each other; ``<name>`` is a Distributed
  table over them that every query and insert uses. Events are sharded by visitor (the
  anonymous id, else the user id), so one visitor's events, and the replays of an event, stay on
  one shard; a person stitched from several visitors is brought together by the queries'
  aggregation on the node that runs them.
- **Replicated tables** (definitions, refreshes, alert states, saved reports, the migrations'
  own record) are small: one Replicated*MergeTree whose path has no ``{shard}``, so every node
  holds all of it and reads it locally.

``{replica}`` must therefore be unique across the whole cluster (the host's name is).
"""

from __future__ import annotations

import re

from storage.sql import identifier
from storage.store import Store

LOCAL_SUFFIX = "_local"
ZOOKEEPER_ROOT = "/clickhouse/tables"

_ENGINE = re.compile(r"^(\w+)(?:\((.*)\))?$", re.S)


def on_cluster(store: Store) -> str:
    """`` ON CLUSTER name`` for DDL on a cluster, else nothing."""
    return f" ON CLUSTER {identifier(store.cluster)}" if store.cluster else ""


def replicated_engine(engine: str, zookeeper_path: str) -> str:
    """``ReplacingMergeTree(v)`` -> ``ReplicatedReplacingMergeTree('path', '{replica}', v)``."""
    match = _ENGINE.match(engine.strip())
    if not match or not match.group(1).endswith("MergeTree"):
        raise ValueError(f"not a MergeTree-family engine: {engine!r}")
    name, args = match.group(1), (match.group(2) or "").strip()
    return f"Replicated{name}('{zookeeper_path}', '{{replica}}'{', ' + args if args else ''})"


def distributed_engine(store: Store, table: str) -> str:
    """The ``ENGINE = Distributed(...)`` of a Distributed table as the server reports it."""
    rows = store.execute(
        "SELECT engine_full FROM system.tables WHERE database = %(db)s AND name = %(t)s "
        "AND engine = 'Distributed'",
        {"db": store.database, "t": table},
    )
    if not rows:
        raise LookupError(f"{store.database}.{table} is not a Distributed table")
    return str(rows[0][0])


def is_sharded(store: Store, table: str) -> bool:
    """True when ``table`` is a Distributed table over ``<table>_local``."""
    if not store.cluster:
        return False
    rows = store.execute(
        "SELECT count() FROM system.tables WHERE database = %(db)s AND name = %(t)s "
        "AND engine = 'Distributed'",
        {"db": store.database, "t": table},
    )
    return bool(rows[0][0])


def rows_of(store: Store, table: str) -> str:
    """``db.table`` where a node keeps the table's rows: its local table when sharded.

    What an ``ALTER ... DELETE`` or a materialized view must name (a Distributed table holds
    no rows). Pair it with ``on_cluster`` for statements every node must run."""
    db = identifier(store.database)
    if is_sharded(store, table):
        return f"{db}.{identifier(table + LOCAL_SUFFIX)}"
    return f"{db}.{identifier(table)}"

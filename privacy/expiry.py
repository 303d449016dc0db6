"""The data retention policy: events older than ``JOURNEY_DATA_RETENTION_DAYS`` are deleted.

(Named so that nobody takes it for the retention report, ``analyzer.retention``.)

What is deleted: every stored event (the ``events`` table: its JSON, its property and trait
paths, its context) whose time is before the horizon, ``now - days``. Whole months before the
horizon's month are dropped as partitions (immediate, no rewrite); the horizon's own month is
thinned by a mutation (``ALTER TABLE ... DELETE``). Where the engine has table TTL (ClickHouse
19.6 on, chDB), the events table also gets ``TTL timestamp + INTERVAL days DAY`` so merges keep
removing expired rows between runs; the 18.x servers have none and rely on the runs.

What is kept: identity links (one row per linked id, no behaviour: later events of the same
device still stitch to the person; erasure removes them per person), and tables computed from
events (segment memberships, alert evaluations, scorecards), which the next refresh computes
from the events that remain.

``journey up`` applies the policy at start and every day; ``journey expire`` applies it once
(for cron, in a deployment without `journey up`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import mutations
from storage.cluster import LOCAL_SUFFIX, is_sharded, on_cluster, rows_of
from storage.store import Store

TABLE = "events"
TTL_SINCE = (19, 6)  # the first ClickHouse with table TTL
MUTATION_TIMEOUT_S = 3600.0
_TTL = re.compile(r"\bTTL\b.*?toIntervalDay\((\d+)\)|\bTTL\b")


@dataclass
class Expiry:
    days: int
    horizon: datetime
    partitions_dropped: list[str]
    rows_deleted: int
    ttl: bool  # whether the engine keeps the policy with a table TTL too

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "horizon": self.horizon.isoformat(),
            "partitions_dropped": self.partitions_dropped,
            "rows_deleted": self.rows_deleted,
            "ttl": self.ttl,
        }


def has_ttl(store: Store) -> bool:
    return store.version() >= TTL_SINCE


def expire(store: Store, days: int, now: datetime | None = None) -> Expiry:
    """Delete the events older than ``days`` days (0: keep everything, and drop a TTL that an
    earlier policy set)."""
    if days < 0:
        raise ValueError("JOURNEY_DATA_RETENTION_DAYS: give 0 (keep everything) or more days")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ttl = has_ttl(store)
    if days == 0:
        if ttl:
            _set_ttl(store, None)
        return Expiry(0, datetime.fromtimestamp(0, UTC), [], 0, ttl)
    horizon = (now - timedelta(days=days)).replace(microsecond=0)
    month = horizon.year * 100 + horizon.month
    before = _count(store, horizon)
    if ttl:
        _set_ttl(store, days)  # on chDB, materialized at once: a mutation waited for below
    table = rows_of(store, TABLE)
    expired = sorted(p for p in _partitions(store) if p.isdigit() and int(p) < month)
    for partition in expired:
        store.execute(f"ALTER TABLE {table}{on_cluster(store)} DROP PARTITION {int(partition)}")
    if ttl:
        mutations.wait(store, MUTATION_TIMEOUT_S)
    if _count(store, horizon):
        mutations.delete(
            store,
            TABLE,
            "toYYYYMM(timestamp) = %(month)s AND timestamp < toDateTime(%(horizon)s)",
            {"month": month, "horizon": int(horizon.timestamp())},
        )
        mutations.wait(store, MUTATION_TIMEOUT_S)
    return Expiry(days, horizon, expired, before - _count(store, horizon), ttl)


def _count(store: Store, horizon: datetime) -> int:
    return int(
        store.execute(
            f"SELECT count() FROM {store.database}.{TABLE} "
            "WHERE timestamp < toDateTime(%(horizon)s)",
            {"horizon": int(horizon.timestamp())},
        )[0][0]
    )


def _partitions(store: Store) -> set[str]:
    """The events table's partitions on any node (each replica of each shard)."""
    local = TABLE + LOCAL_SUFFIX if is_sharded(store, TABLE) else TABLE
    found: set[str] = set()
    nodes = store.nodes()
    try:
        for node in nodes:
            found |= {
                str(r[0])
                for r in node.execute(
                    "SELECT DISTINCT partition FROM system.parts WHERE database = %(db)s "
                    "AND table = %(t)s AND active",
                    {"db": store.database, "t": local},
                )
            }
    finally:
        if store.cluster:
            for node in nodes:
                node.close()
    return found


def _set_ttl(store: Store, days: int | None) -> None:
    """The events table's TTL as the policy says, changed only when it differs."""
    table = rows_of(store, TABLE)
    (create,) = store.execute(
        "SELECT create_table_query FROM system.tables WHERE database = %(db)s AND name = %(t)s",
        {"db": store.database, "t": table.split(".")[-1]},
    )[0]
    current = _TTL.search(str(create))
    if days is None:
        if current:
            store.execute(f"ALTER TABLE {table}{on_cluster(store)} REMOVE TTL")
        return
    if current and current.group(1) == str(days):
        return
    store.execute(
        f"ALTER TABLE {table}{on_cluster(store)} MODIFY TTL timestamp + toIntervalDay({int(days)})"
    )

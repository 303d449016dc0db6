"""What `journey status` shows an operator: how far the loaders are behind (lag per partition
and in all), what this machine's collector spool holds, when events last loaded, migrations not
yet applied, the last refresh of each segment and the last evaluation of each alert rule.

Each part is read on its own: one that cannot be read (Kafka unreachable, say) says why in its
place and the others are still shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from collector.spool import segment_paths, used_bytes
from core.kafka import connection_config
from core.settings import Settings
from reports import alerts as alert_reports
from reports import segments as segment_reports
from storage import migrations
from storage.sql import identifier
from storage.store import Store

TIMEOUT_MS = 10_000


def consumer_lag(settings: Settings, timeout_ms: int = TIMEOUT_MS) -> dict[str, Any]:
    """Per partition of the events topic: its end, the group's committed offset, the lag."""
    config = {**connection_config(settings), "request_timeout_ms": timeout_ms}
    admin = KafkaAdminClient(**config, client_id="journey-status", bootstrap_timeout_ms=timeout_ms)
    consumer = KafkaConsumer(**config, client_id="journey-status", enable_auto_commit=False)
    try:
        topic = settings.events_topic
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise LookupError(f"no topic {topic!r}")
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        ends = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets({settings.consumer_group: partitions}).get(
            settings.consumer_group, {}
        )
    finally:
        consumer.close()
        admin.close()
    rows = []
    for tp in partitions:
        done = committed.get(tp)
        offset = done.offset if done is not None and done.offset >= 0 else None
        rows.append(
            {
                "partition": tp.partition,
                "end": ends[tp],
                "committed": offset,
                "lag": ends[tp] - (offset or 0),
            }
        )
    return {
        "topic": settings.events_topic,
        "group": settings.consumer_group,
        "total": sum(r["lag"] for r in rows),
        "partitions": rows,
    }


def spool(settings: Settings) -> dict[str, Any]:
    """This machine's collector spool: events accepted while Kafka was away, not yet sent."""
    folder = settings.data_dir / "spool"
    present = folder.is_dir()  # read, not made: no collector may run on this machine
    return {
        "folder": str(folder),
        "segments": len(segment_paths(folder)) if present else 0,
        "bytes": used_bytes(folder) if present else 0,
        "max_bytes": settings.spool_max_bytes,
    }


def last_load(store: Store) -> dict[str, Any]:
    rows = store.execute(f"SELECT max(loaded_at), count() FROM {identifier(store.database)}.events")
    when, count = rows[0] if rows else (None, 0)
    loaded = _moment(when)
    return {"last_loaded_at": loaded, "rows": int(count)}


def pending_migrations(store: Store) -> list[dict[str, Any]]:
    return [
        {"version": m.version, "name": m.name, "description": m.description}
        for m in migrations.pending(store)
    ]


def segments(store: Store) -> list[dict[str, Any]]:
    return [
        {k: row[k] for k in ("segment", "version", "refreshed", "members", "schedule")}
        for row in segment_reports.listing(store).rows
    ]


def alert_rules(store: Store) -> list[dict[str, Any]]:
    table = f"{identifier(store.database)}.alert_evaluations"
    last = {
        str(rule): (_moment(at), str(outcome))
        for rule, at, outcome in store.execute(
            f"SELECT rule, max(at), argMax(outcome, at) FROM {table} GROUP BY rule"
        )
    }
    rows = []
    for row in alert_reports.listing(store).rows:
        at, outcome = last.get(row["rule"], (None, ""))
        rows.append(
            {
                "rule": row["rule"],
                "every": row["every"],
                "last_evaluated_at": at,
                "last_outcome": outcome,
                "firing": row["firing"],
            }
        )
    return rows


def status(
    settings: Settings, store: Store | None, held: str = "", timeout_ms: int = TIMEOUT_MS
) -> dict[str, Any]:
    """Every part, each either its figures or ``{"error": why}``. Without ``store`` (``held``
    says why) the parts read from ClickHouse say so."""
    found: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="seconds")}
    parts: dict[str, Callable[[], Any]] = {
        "kafka": lambda: consumer_lag(settings, timeout_ms),
        "spool": lambda: spool(settings),
    }
    if store is not None:
        parts.update(
            {
                "load": lambda: last_load(store),
                "pending_migrations": lambda: pending_migrations(store),
                "segments": lambda: segments(store),
                "alerts": lambda: alert_rules(store),
            }
        )
    for name, read in parts.items():
        try:
            found[name] = read()
        except Exception as exc:  # noqa: BLE001 - one part's trouble is shown in its place
            found[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if store is None:
        for name in ("load", "pending_migrations", "segments", "alerts"):
            found[name] = {"error": held}
    return found


def _moment(value: Any) -> str | None:
    if not isinstance(value, datetime) or value.timestamp() <= 0:
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")

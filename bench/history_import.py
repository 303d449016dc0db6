"""Loading history: the loader's insert step (loader.write) on batches of 20,000 rows (its
default batch) spanning 120 months, against the same rows all in one month, into chDB and the
ClickHouse 18.16 server. ClickHouse refuses one insert touching more than 100 partitions, so a
history batch goes in parts of at most 100 months; this measures what that costs.

    python -m bench.history_import
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import figure
from collector.enrich import RequestInfo, build_event
from core.settings import parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from loader.decode import COLUMNS, to_row
from loader.write import Writer
from storage import migrations
from storage.embedded import EmbeddedStore
from storage.server import ServerStore
from storage.store import Store

BATCH = 20_000
BATCHES = 5
FIRST = datetime(2015, 1, 1, tzinfo=UTC)


def rows(months: int) -> list[tuple[Any, ...]]:
    info = RequestInfo(received_at=datetime.now(UTC), source="bench")
    out = []
    for i in range(BATCH * BATCHES):
        month = i % months
        at = FIRST.replace(year=FIRST.year + month // 12, month=1 + month % 12) + timedelta(
            minutes=i % 40_000
        )
        message = {
            "type": "track",
            "event": "Order Completed",
            "messageId": f"m{months}-{i}",
            "userId": f"u{i % 5000}",
            "timestamp": at.isoformat(),
            "properties": {"order_id": f"o{i}", "revenue": 10.5, "currency": "USD"},
        }
        out.append(to_row(build_event(message, info)))
    return out


def rate(store: Store, data: list[tuple[Any, ...]]) -> float:
    migrations.apply(store)
    writer = Writer(store, "events", COLUMNS)
    times = []
    for start in range(0, len(data), BATCH):
        began = time.perf_counter()
        assert writer.write(data[start : start + BATCH]) == []
        times.append(time.perf_counter() - began)
    return BATCH / statistics.median(times)


def main() -> dict[str, float]:
    results: dict[str, float] = {}
    live, history = rows(1), rows(120)
    chdb = Path(tempfile.mkdtemp(prefix="journey-bench-"))  # one embedded path per process
    with LocalClickHouse() as server:
        for engine in ("chDB", "server"):
            for name, data in (("one month", live), ("120 months", history)):
                database = f"h{len(results)}"
                store: Store = (
                    EmbeddedStore.open(chdb, database)
                    if engine == "chDB"
                    else ServerStore(parse_clickhouse_url(server.url_for(database)), database)
                )
                if engine == "server":
                    store.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
                results[f"{engine} {name}"] = rate(store, data)
    print(f"loader inserts of {BATCH:,} rows, median of {BATCHES} batches")
    for name, value in results.items():
        figure(f"insert, {name}", value, "rows/s")
    return results


if __name__ == "__main__":
    main()

"""Real data's time range: a history import spanning ten years loads, and devices with broken
clocks neither stop the stream nor land outside what the table holds.

Through the whole pipeline: the collector's ``/v1/import`` (Segment's endpoint for history),
Apache Kafka, the loader, and ClickHouse. Current ClickHouse (chDB) refuses one insert touching
more than 100 partitions (months), the 18.16 server does not; the loader splits for both. The
ten years run on those two; on the cluster (replicated 18.16 tables, where a run with them was
followed by another cluster test failing in its ON CLUSTER setup) the clocks test runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.app import create_app
from collector.sink import EventSink
from core.settings import Settings
from storage.store import Store
from tests.conftest import ENGINES, drop_store, open_store
from tests.helpers import count_events, load_until_idle, post, read_topic, serve

pytestmark = pytest.mark.integration

MONTHS = 120
FIRST = datetime(2015, 1, 1, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def history_store(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    """A fresh database on the 18.16 server or in chDB."""
    opened = open_store(request.param, request, chdb_path)
    yield opened
    drop_store(opened)


@pytest.fixture
def collector(kafka_settings: Settings) -> Iterator[str]:
    sink = EventSink(kafka_settings)
    try:
        with serve(create_app(kafka_settings, sink=sink)) as url:
            yield url
    finally:
        sink.close()


def _month(i: int) -> datetime:
    return FIRST.replace(year=FIRST.year + i // 12, month=1 + i % 12, day=1 + i % 27)


def _history(per_month: int) -> list[dict[str, Any]]:
    """``per_month`` events in each of 120 months, newest first (as exports often are)."""
    return [
        {
            "type": "track",
            "event": "Order Completed" if k == 0 else "Product Viewed",
            "userId": f"customer-{i % 40}",
            "messageId": f"history-{i}-{k}",
            "timestamp": (_month(i) + timedelta(hours=k)).isoformat(),
            "properties": {"revenue": 10 + i},
        }
        for i in reversed(range(MONTHS))
        for k in range(per_month)
    ]


def _months_stored(store: Store) -> int:
    rows = store.execute(
        f"SELECT uniqExact(toYYYYMM(timestamp)) FROM {store.database}.events "
        "WHERE timestamp < toDateTime('2025-01-01 00:00:00')"
    )
    return int(rows[0][0])


def test_ten_years_in_one_import_batch(
    collector: str, kafka_settings: Settings, history_store: Store
) -> None:
    store = history_store
    events = _history(10)
    answer = post(collector, "/v1/import", {"batch": events})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events)
    loader = load_until_idle(kafka_settings, store)
    assert count_events(store)[1] == len(events)
    assert _months_stored(store) == MONTHS
    assert loader.stats.dead_lettered == 0
    # events sent after the history load too
    assert post(collector, "/v1/track", {"event": "Later", "userId": "x"}).status_code == 200
    load_until_idle(kafka_settings, store)
    assert count_events(store)[1] == len(events) + 1


def test_ten_years_in_many_batches_read_as_one(
    collector: str, kafka_settings: Settings, history_store: Store
) -> None:
    """A month per request: the loader gathers them into batches spanning every month."""
    store = history_store
    events = _history(5)
    for start in range(0, len(events), 5):
        answer = post(collector, "/v1/import", {"batch": events[start : start + 5]})
        assert answer.status_code == 200, answer.text
    loader = load_until_idle(kafka_settings.with_overrides(loader_batch_seconds=5.0), store)
    assert count_events(store)[1] == len(events)
    assert _months_stored(store) == MONTHS
    assert loader.stats.dead_lettered == 0
    revenue = store.execute(
        f"SELECT sum(toFloat64(visitParamExtractString(property_paths, 'revenue'))) "
        f"FROM (SELECT property_paths FROM {store.database}.events "
        "WHERE event = 'Order Completed' LIMIT 1 BY event_id)"
    )[0][0]
    assert revenue == sum(10 + i for i in range(MONTHS))


def test_broken_device_clocks_keep_the_stream_loading(
    collector: str, kafka_settings: Settings, store: Store
) -> None:
    """Clocks at 1970 or 2035 with sentAt are corrected into the server's time; a time the
    table cannot hold is refused with its reason, and the events beside it load."""
    now = datetime.now(UTC)

    def event(name: str, **times: str) -> dict[str, Any]:
        return {
            "type": "track",
            "event": name,
            "anonymousId": "device-1",
            "messageId": str(uuid.uuid4()),
            **times,
        }

    batch = [
        event("Fine", timestamp=now.isoformat()),
        event("Clock 1970", timestamp="1970-01-01T00:10:00Z", sentAt="1970-01-01T00:10:02Z"),
        event("Clock 2035", timestamp="2035-06-01T12:00:00Z", sentAt="2035-06-01T12:00:01Z"),
        event("Clock 2035 unsent", timestamp="2035-06-01T12:00:00Z"),
        event("Before 1970", timestamp="1969-12-31T23:59:59Z"),
        event("After DateTime", timestamp="2107-01-01T00:00:00Z"),
    ]
    answer = post(collector, "/v1/batch", {"batch": batch})
    assert answer.status_code == 200, answer.text
    refused = {r["index"]: r["reason"] for r in answer.json()["rejected"]}
    assert sorted(refused) == [4, 5]
    for index in (4, 5):
        assert "timestamp" in refused[index] and "1970-01-01 to 2104-12-31" in refused[index]
    for later in range(3):  # and the stream goes on
        assert post(collector, "/v1/track", event(f"Later {later}")).status_code == 200
    load_until_idle(kafka_settings, store)
    rows = store.execute(
        f"SELECT event, timestamp_ms FROM {store.database}.events LIMIT 1 BY event_id"
    )
    stored = {name: ms for name, ms in rows}
    assert sorted(stored) == sorted(
        ["Fine", "Clock 1970", "Clock 2035", "Clock 2035 unsent", "Later 0", "Later 1", "Later 2"]
    )
    for name in ("Clock 1970", "Clock 2035", "Clock 2035 unsent"):
        moment = datetime.fromtimestamp(stored[name] / 1000, UTC)
        assert abs(moment - now) < timedelta(minutes=5), name  # on the server's clock
    dead = read_topic(
        ",".join(kafka_settings.kafka_bootstrap_servers), kafka_settings.dead_letter_topic
    )
    assert len(dead) == 2  # the refused two, with their reasons, for whoever sent them

"""Loader rows/s per process, against kafka-python alone consuming and parsing the same
messages (the ceiling a Python consumer has here). Both start after their group join."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer

from bench.common import figure
from collector.enrich import RequestInfo, build_event, partition_key
from journey.devservices.broker import LocalBroker
from journey.devservices.clickhouse_server import LocalClickHouse
from journey.kafka import consumer_config, ensure_topics
from journey.settings import Settings, parse_clickhouse_url
from loader.consumer import Loader, prepare
from storage.embedded import EmbeddedStore
from storage.server import ServerStore
from storage.store import Store

N = 200_000


def produce(settings: Settings) -> None:
    ensure_topics(settings)
    info = RequestInfo(received_at=datetime.now(UTC), source="bench")
    producer = KafkaProducer(
        bootstrap_servers=list(settings.kafka_bootstrap_servers),
        linger_ms=20,
        batch_size=256 * 1024,
    )
    for i in range(N):
        event = build_event(
            {
                "type": "track",
                "event": "Product Viewed",
                "messageId": f"m{i}",
                "anonymousId": f"v{i % 20000}",
                "properties": {"sku": f"s{i % 300}", "price": 9.5},
                "context": {"page": {"url": f"https://shop.example/p/{i % 300}"}},
            },
            info,
        )
        producer.send(settings.events_topic, key=partition_key(event), value=orjson.dumps(event))
    producer.flush()
    producer.close()


def consume_only(settings: Settings) -> float:
    consumer = KafkaConsumer(
        settings.events_topic,
        **{**consumer_config(settings), "group_id": f"raw-{uuid.uuid4().hex}"},
    )
    seen, started = 0, None
    while seen < N:
        for messages in consumer.poll(timeout_ms=500).values():
            started = started or time.perf_counter()
            for m in messages:
                orjson.loads(m.value)
                seen += 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return N / elapsed


def load(settings: Settings, store: Store) -> float:
    prepare(settings, store)
    loader = Loader(settings.with_overrides(consumer_group=f"load-{uuid.uuid4().hex}"), store)
    original = loader.process
    started: list[float] = []

    def timed(records):  # type: ignore[no-untyped-def]
        if not started:
            started.append(time.perf_counter())
        original(records)

    loader.process = timed  # type: ignore[method-assign]
    loader.run(max_idle_seconds=1.0)
    elapsed = time.perf_counter() - started[0] - 1.0  # the idle second that ends the run
    assert loader.stats.rows_written == N, loader.stats
    return N / elapsed


def main() -> dict[str, float]:
    results: dict[str, float] = {}
    with LocalBroker() as broker, LocalClickHouse() as server:
        settings = Settings(
            kafka_bootstrap_servers=(broker.bootstrap,),
            kafka_fast_group_join=True,
            events_topic=f"bench-{uuid.uuid4().hex[:6]}",
        )
        produce(settings)
        results["consume_parse_per_s"] = consume_only(settings)
        embedded = EmbeddedStore.open(Path(tempfile.mkdtemp(prefix="journey-bench-chdb-")), "bench")
        results["loader_chdb_rows_per_s"] = load(settings, embedded)
        results["loader_server_rows_per_s"] = load(
            settings, ServerStore(parse_clickhouse_url(server.url), "bench")
        )
    base = results["consume_parse_per_s"]
    print(f"loader, one process, {N:,} events (batches of 20,000 rows)")
    figure("kafka-python alone: consume + parse JSON", base, "msgs/s")
    for key, name in (
        ("loader_chdb_rows_per_s", "loader into chDB (embedded)"),
        ("loader_server_rows_per_s", "loader into ClickHouse 18.16 server"),
    ):
        figure(
            name, results[key], "rows/s", f"{results[key] / base:.2f} of consume-only (goal >= 0.7)"
        )
    return results


if __name__ == "__main__":
    main()

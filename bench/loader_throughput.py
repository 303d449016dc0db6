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

from bench.brokers import CpuMeter, running
from bench.common import figure
from collector.enrich import RequestInfo, build_event
from collector.pack import pack
from core.kafka import consumer_config, ensure_topics
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from loader.consumer import Loader, fewer_collections, prepare
from storage.embedded import EmbeddedStore
from storage.server import ServerStore
from storage.store import Store

N = 200_000
PER_REQUEST = 20
IDLE = 3.0  # seconds without messages that end a run


def messages(settings: Settings, n: int = N) -> list[tuple[bytes, bytes]]:
    """What the collector produces for browser-like requests of PER_REQUEST events from one
    visitor each: one journey/event_batch message (key, value) per request."""
    info = RequestInfo(received_at=datetime.now(UTC), source="bench")
    out = []
    for first in range(0, n, PER_REQUEST):
        visitor = f"v{first % 20000}"
        events = [
            orjson.dumps(
                build_event(
                    {
                        "type": "track",
                        "event": "Product Viewed",
                        "messageId": f"m{i}",
                        "anonymousId": visitor,
                        "properties": {"sku": f"s{i % 300}", "price": 9.5},
                        "context": {"page": {"url": f"https://shop.example/p/{i % 300}"}},
                    },
                    info,
                )
            )
            for i in range(first, first + PER_REQUEST)
        ]
        out += [(r.key, r.value) for r in pack(settings.events_topic, {visitor.encode(): events})]
    return out


def send(settings: Settings, batch: list[tuple[bytes, bytes]]) -> None:
    ensure_topics(settings)
    producer = KafkaProducer(
        bootstrap_servers=list(settings.kafka_bootstrap_servers),
        linger_ms=20,
        batch_size=1024 * 1024,
    )
    for key, value in batch:
        producer.send(settings.events_topic, key=key, value=value)
    producer.flush()
    producer.close()


def produce(settings: Settings, n: int = N) -> int:
    """Build and send n events; the number of messages."""
    batch = messages(settings, n)
    send(settings, batch)
    return len(batch)


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
                seen += len(orjson.loads(m.value)["events"])
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return N / elapsed


def load(settings: Settings, store: Store) -> float:
    prepare(settings, store)
    fewer_collections()  # as `journey load` does
    loader = Loader(settings.with_overrides(consumer_group=f"load-{uuid.uuid4().hex}"), store)
    original = loader.process
    started: list[float] = []

    def timed(records):  # type: ignore[no-untyped-def]
        if not started:
            started.append(time.perf_counter())
        original(records)

    loader.process = timed  # type: ignore[method-assign]
    loader.run(max_idle_seconds=IDLE)
    elapsed = time.perf_counter() - started[0] - IDLE  # the idle wait that ends the run
    assert loader.stats.rows_written == N, loader.stats
    return N / elapsed


def main(broker: str = "bundled") -> dict[str, float]:
    results: dict[str, float] = {}
    with running(broker) as brokers, LocalClickHouse() as server:
        settings = Settings(
            kafka_bootstrap_servers=brokers.servers,
            kafka_fast_group_join=True,
            events_topic=f"bench-{uuid.uuid4().hex[:6]}",
        )
        messages = produce(settings)
        results["consume_parse_per_s"] = consume_only(settings)
        embedded = EmbeddedStore.open(Path(tempfile.mkdtemp(prefix="journey-bench-chdb-")), "bench")
        meter = CpuMeter(brokers).start()
        results["loader_chdb_rows_per_s"] = load(settings, embedded)
        meter.stop()
        results["broker_cores_chdb"] = meter.cpu / meter.wall
        meter.start()
        results["loader_server_rows_per_s"] = load(
            settings, ServerStore(parse_clickhouse_url(server.url), "bench")
        )
        meter.stop()
        results["broker_cores_server"] = meter.cpu / meter.wall
    base = results["consume_parse_per_s"]
    print(
        f"loader, one process, {N:,} events in {messages:,} messages of {PER_REQUEST} events "
        f"(inserts of 20,000 rows), {brokers.label}"
    )
    figure("kafka-python alone: consume + parse JSON", base, "events/s")
    for key, name, cores in (
        ("loader_chdb_rows_per_s", "loader into chDB (embedded)", "broker_cores_chdb"),
        ("loader_server_rows_per_s", "loader into ClickHouse 18.16 server", "broker_cores_server"),
    ):
        figure(
            name,
            results[key],
            "rows/s",
            f"{results[key] / base:.2f} of consume-only; brokers {results[cores]:.2f} cores",
        )
    return results


if __name__ == "__main__":
    main()

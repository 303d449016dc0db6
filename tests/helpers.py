"""Helpers for integration tests: a real HTTP collector, reading a topic, running a loader."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import requests
from flask import Flask
from kafka import KafkaConsumer, TopicPartition
from werkzeug.serving import make_server

import schemas
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from loader.consumer import Loader, prepare
from storage.paths import paths
from storage.server import ServerStore
from storage.store import Store

AUTH_KEY = "test-write-key"


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app on a real threaded HTTP server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


# The user agent of the people whose events the tests post: python-requests' own would make
# them bots (collector.agent), which no analysis counts.
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def post(url: str, path: str, body: Any, key: str = AUTH_KEY) -> requests.Response:
    """POST ``body`` as JSON with the write key, as a visitor's browser would."""
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth, "User-Agent": BROWSER}
    return requests.post(url + path, data=orjson.dumps(body), timeout=30, headers=headers)


def read_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[Any]:
    """Every message now on ``topic`` (all partitions), as decoded JSON."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                time.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[Any] = []
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                out.extend(orjson.loads(m.value) for m in messages)
        return out
    finally:
        consumer.close()


def unpack(message: Any) -> list[dict[str, Any]]:
    """The events of a topic message: an event batch, or a single event."""
    return list(message["events"]) if message.get("schema") in schemas.EVENT_BATCHES else [message]


def count_events(store: Store) -> tuple[int, int]:
    """(rows physically stored, distinct events as every report counts them)."""
    rows = store.execute(f"SELECT count(), uniqExact(event_id) FROM {store.database}.events")
    return int(rows[0][0]), int(rows[0][1])


def load_until_idle(
    settings: Settings, store: Store, idle: float = 3.0, loader: Loader | None = None
) -> Loader:
    prepare(settings, store)
    loader = loader or Loader(settings, store)
    loader.run(max_idle_seconds=idle)
    return loader


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def server_database(server: LocalClickHouse) -> Iterator[tuple[ServerStore, str]]:
    """A fresh database on the ClickHouse server, and the JOURNEY_CLICKHOUSE_URL that names it
    (for commands and processes); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    url = server.url_for(name)
    store = ServerStore(parse_clickhouse_url(url))
    store.execute(f"CREATE DATABASE {name}")
    try:
        yield store, url
    finally:
        store.execute(f"DROP DATABASE IF EXISTS {name}")
        store.close()


def insert_events(store: Store, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows of the events table as the loader writes them: with ``properties`` or
    ``traits`` (JSON text) among the columns, their paths too (storage.paths)."""
    columns = list(columns)
    documents = {"properties": "property_paths", "traits": "trait_paths"}
    at = [columns.index(n) for n in documents if n in columns]
    if at:
        rows = [(*row, *(paths(orjson.loads(row[i] or "{}")) for i in at)) for row in rows]
    store.insert("events", [*columns, *(documents[columns[i]] for i in at)], rows)

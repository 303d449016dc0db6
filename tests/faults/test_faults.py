"""Faults under a steady load, with the collector and the loader as real OS processes (SIGKILL
takes them like a lost machine would), a real broker and a real ClickHouse server. Each test
ends with exact counts: every event the client saw acknowledged is in ClickHouse, and every
report counts it once; nothing else is there."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from analyzer.summary import summary
from journey.devservices.broker import LocalBroker
from journey.devservices.clickhouse_server import LocalClickHouse
from journey.devservices.pipeline import STEPS, Pipeline, Traffic
from journey.settings import parse_clickhouse_url
from reports import analyses
from reports.params import Params
from storage.server import ServerStore
from storage.store import Store, StoreUnavailable
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

KEY = "fault-test-key"


@contextmanager
def pipeline(
    tmp_path: Path, broker: LocalBroker, server: LocalClickHouse, **extra: str
) -> Iterator[tuple[Pipeline, Store]]:
    suffix = uuid.uuid4().hex[:8]
    database = f"f_{suffix}"
    url = server.url_for(database)
    env = {
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "JOURNEY_CLICKHOUSE_URL": url,
        "JOURNEY_EVENTS_TOPIC": f"events-{suffix}",
        "JOURNEY_DEAD_LETTER_TOPIC": f"dead-letter-{suffix}",
        "JOURNEY_CONSUMER_GROUP": f"loader-{suffix}",
        "JOURNEY_WRITE_KEYS": f"faults:{KEY}",
        "JOURNEY_LOADER_BATCH_SECONDS": "0.5",
        "JOURNEY_KAFKA_ACK_TIMEOUT_S": "2",
        "JOURNEY_COLLECTOR_WORKERS": "2",
        **extra,
    }
    running = Pipeline(env, tmp_path / "data")
    store = ServerStore(parse_clickhouse_url(url), database=database)
    try:
        yield running, store
        running.stop()
        logs = running.logs()
        assert logs and KEY not in logs  # no secret in any log line, under any fault
    finally:
        running.stop()
        store.close()


def loaded_ids(store: Store) -> set[str]:
    try:
        rows = store.execute(f"SELECT DISTINCT event_id FROM {store.database}.events")
    except StoreUnavailable:
        return set()
    except Exception as exc:  # noqa: BLE001 - the table may not exist yet
        if "doesn't exist" in str(exc) or "does not exist" in str(exc):
            return set()
        raise
    return {str(r[0]) for r in rows}


def assert_exactly_once(store: Store, traffic: Traffic, timeout: float = 120.0) -> int:
    """Wait until ClickHouse holds every acknowledged event; then nothing lost, nothing extra,
    and reports count each once. Returns the number of events."""
    sent = set(traffic.acknowledged)
    wait_for(lambda: sent <= loaded_ids(store), timeout, f"{len(sent)} events in ClickHouse")
    assert loaded_ids(store) == sent  # nothing the client was not told about... and no loss
    assert summary(store).events == len(sent)  # each once, however often it was stored
    names = analyses.event_names(store, Params.of(), None).data
    counted = {row["event"]: row["count"] for row in names}
    assert counted == dict(traffic.by_event())
    funnel = analyses.run(store, "funnel", Params.of(step=STEPS[:2])).data
    visitors = store.execute(
        f"SELECT uniqExact(anonymous_id) FROM {store.database}.events WHERE event = %(e)s",
        {"e": STEPS[0]},
    )[0][0]
    assert funnel["steps"][0]["people"] == visitors
    return len(sent)


def test_loader_killed_repeatedly_counts_each_event_once(
    tmp_path: Path, broker: LocalBroker, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, broker, clickhouse_server) as (running, store):
        running.start("collect")
        running.start("load")
        traffic = Traffic(running.url, KEY, rate=300, threads=2).start()
        for _ in range(5):
            time.sleep(3)
            running.kill("load", signal.SIGKILL)  # mid-batch, between insert and commit, ...
            running.start("load")
        time.sleep(2)
        traffic.stop()
        events = assert_exactly_once(store, traffic)
        assert events > 2000 and running.started["load"] == 6
        stored = store.execute(f"SELECT count() FROM {store.database}.events")[0][0]
        print(f"loader SIGKILLed 5 times: {events} events, {stored} rows stored, counted once")


def test_clickhouse_stopped_30s_under_load(tmp_path: Path, broker: LocalBroker) -> None:
    with (
        LocalClickHouse(tmp_path / "ch") as server,
        pipeline(tmp_path, broker, server) as (
            running,
            store,
        ),
    ):
        running.start("collect")
        running.start("load")
        traffic = Traffic(running.url, KEY, rate=200, threads=2).start()
        wait_for(lambda: len(loaded_ids(store)) > 200, 60, "the first events to load")
        server.stop()
        time.sleep(30)  # the collector keeps taking events (Kafka holds them); the loader waits
        assert traffic.statuses["200"] > 0 and not traffic.statuses["503"]
        server.start()
        time.sleep(3)
        traffic.stop()
        events = assert_exactly_once(store, traffic, timeout=180)
        assert "retrying" in running.log_path("load").read_text()
        print(f"ClickHouse down 30 s: {events} events, none lost, none doubled")


def test_broker_stopped_under_load_spools_then_replays(
    tmp_path: Path, clickhouse_server: LocalClickHouse
) -> None:
    broker = LocalBroker().start()
    try:
        # a small spool, so the outage also fills it: 503 + Retry-After, and the client retries
        with pipeline(tmp_path, broker, clickhouse_server, JOURNEY_SPOOL_MAX_BYTES="150000") as (
            running,
            store,
        ):
            running.start("collect")
            running.start("load")
            traffic = Traffic(running.url, KEY, rate=200, threads=2).start()
            time.sleep(4)
            # 1. the broker stops answering (frozen: its memory kept), under load
            assert broker.process is not None
            broker.process.send_signal(signal.SIGSTOP)
            time.sleep(15)  # events keep coming: spooled (2xx), then the spool is full (503)
            frozen = traffic.statuses.copy()
            broker.process.send_signal(signal.SIGCONT)
            time.sleep(8)
            # 2. the broker process stops and starts again. The bundled broker keeps messages
            # in memory (a real Kafka keeps them on disk), so the loader first catches up
            traffic.pause()
            wait_for(
                lambda: set(traffic.acknowledged) <= loaded_ids(store), 90, "the loader to catch up"
            )
            broker.stop()
            traffic.resume()
            time.sleep(10)  # under load while it is down: spooled, then 503
            stopped = traffic.statuses.copy()
            broker.start()
            # a broker that lost its data lost the group's offsets too: restart the loaders,
            # which then read the recreated topic from its start (replays collapse on event_id)
            running.kill("load")
            running.start("load")
            time.sleep(10)
            traffic.stop()
            events = assert_exactly_once(store, traffic, timeout=180)
            assert frozen["503"] > 0 and stopped["503"] > frozen["503"] and traffic.retries > 0
            print(
                f"broker frozen 15 s, then stopped 10 s: {events} events, answers "
                f"{dict(traffic.statuses)}, {traffic.retries} retries, none lost, none doubled"
            )
    finally:
        broker.stop()


def test_collector_killed_mid_request_retries_do_not_double(
    tmp_path: Path, broker: LocalBroker, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, broker, clickhouse_server) as (running, store):
        running.start("collect")
        running.start("load")
        traffic = Traffic(running.url, KEY, rate=400, batch=25, threads=4).start()
        for _ in range(4):
            time.sleep(2.5)
            running.kill("collect", signal.SIGKILL)  # requests in flight lose their answer
            time.sleep(0.5)
            running.start("collect")
        time.sleep(2)
        traffic.stop()
        events = assert_exactly_once(store, traffic)
        failures = sum(n for s, n in traffic.statuses.items() if not s.isdigit())
        assert failures > 0 and traffic.retries >= failures
        print(
            f"collector SIGKILLed 4 times: {events} events, {failures} requests cut, counted once"
        )

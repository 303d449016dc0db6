"""Faults under a steady load, with the collector and the loader as real OS processes (SIGKILL
takes them like a lost machine would), Apache Kafka (three KRaft nodes, replication 3,
min.insync.replicas 2) and a real ClickHouse server. Each test ends with exact counts: every
event the client saw acknowledged is in ClickHouse, and every report counts it once; nothing
else is there. Faults of the brokers themselves are in test_kafka_faults.py."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import LocalKafkaCluster
from devservices.pipeline import Traffic
from tests.faults.harness import (
    KEY,
    assert_exactly_once,
    first_events_loaded,
    loader_url,
    pipeline,
    readiness,
    under_load,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def test_loader_killed_repeatedly_counts_each_event_once(
    tmp_path: Path, broker: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, broker, clickhouse_server) as (running, store):
        traffic = under_load(running, rate=300)
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


def test_clickhouse_stopped_30s_under_load(tmp_path: Path, broker: LocalKafkaCluster) -> None:
    with (
        LocalClickHouse(tmp_path / "ch") as server,
        pipeline(tmp_path, broker, server) as (
            running,
            store,
        ),
    ):
        traffic = under_load(running, rate=200)
        first_events_loaded(store)
        server.stop()
        time.sleep(30)  # the collector keeps taking events (Kafka holds them); the loader waits
        assert traffic.statuses["200"] > 0 and not traffic.statuses["503"]
        # the loader says it cannot do its work (a probe takes it out of service), the
        # collector that it can
        status, why = readiness(loader_url(running))
        assert status == 503 and "ClickHouse unreachable" in why, (status, why)
        assert readiness(running.url)[0] == 200
        server.start()
        wait_for(lambda: readiness(loader_url(running))[0] == 200, 60, "the loader ready again")
        time.sleep(3)
        traffic.stop()
        events = assert_exactly_once(store, traffic, timeout=180)
        assert "retrying" in running.log_path("load").read_text()
        print(f"ClickHouse down 30 s: {events} events, none lost, none doubled")


def test_collector_killed_mid_request_retries_do_not_double(
    tmp_path: Path, broker: LocalKafkaCluster, clickhouse_server: LocalClickHouse
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

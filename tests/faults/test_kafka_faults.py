"""Faults of Apache Kafka itself under a steady load: a partition leader SIGKILLed and restarted
from its disk, a rolling restart of every broker, two of three brokers down (fewer in-sync
replicas than min.insync.replicas), every broker frozen and then restarted, and the pipeline on
SASL_SSL. Each cluster here is the test's own; each test ends with exact counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import SASL_PASSWORD, SASL_USER, LocalKafkaCluster
from tests.faults.harness import (
    assert_exactly_once,
    first_events_loaded,
    pipeline,
    readiness,
    under_load,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def test_partition_leader_killed_under_load_then_restarted_from_disk(
    tmp_path: Path, kafka_cluster: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, kafka_cluster, clickhouse_server) as (running, store):
        traffic = under_load(running, rate=300)
        first_events_loaded(store)
        topic = running.env["JOURNEY_EVENTS_TOPIC"]
        leader = kafka_cluster.leader(topic, 0)
        kafka_cluster.kill_node(leader, signal.SIGKILL)
        time.sleep(10)  # under load without it: the other replicas take over the partitions
        assert kafka_cluster.leader(topic, 0) != leader
        kafka_cluster.start_node(leader)
        kafka_cluster.wait_in_sync()
        time.sleep(2)
        traffic.stop()
        events = assert_exactly_once(store, traffic)
        print(
            f"leader node {leader} SIGKILLed 10 s and restarted from disk: {events} events, "
            f"answers {dict(traffic.statuses)}, none lost, none doubled"
        )


def test_rolling_restart_of_every_broker_under_load(
    tmp_path: Path, kafka_cluster: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, kafka_cluster, clickhouse_server) as (running, store):
        traffic = under_load(running, rate=300)
        first_events_loaded(store)
        for node in kafka_cluster.nodes:
            kafka_cluster.kill_node(node.node_id, signal.SIGTERM)  # controlled shutdown
            time.sleep(3)
            kafka_cluster.start_node(node.node_id)
            kafka_cluster.wait_in_sync()  # as an operator would, before the next one
        time.sleep(2)
        traffic.stop()
        events = assert_exactly_once(store, traffic)
        assert not traffic.statuses["503"]
        print(
            f"rolling restart of 3 brokers: {events} events, answers {dict(traffic.statuses)}, "
            "none lost, none doubled"
        )


def test_two_brokers_down_the_collector_spools_then_503_never_a_false_2xx(
    tmp_path: Path, kafka_cluster: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    # a small spool, so that the outage fills it: then 503 with Retry-After, and clients retry
    with pipeline(tmp_path, kafka_cluster, clickhouse_server, JOURNEY_SPOOL_MAX_BYTES="150000") as (
        running,
        store,
    ):
        traffic = under_load(running, rate=200)
        first_events_loaded(store)
        before = traffic.statuses.copy()
        down = [n.node_id for n in kafka_cluster.nodes[1:]]
        for node_id in down:
            kafka_cluster.kill_node(node_id, signal.SIGKILL)
        time.sleep(20)  # one in-sync replica left of 3, min.insync.replicas=2: acks=all fails
        during = traffic.statuses - before
        for node_id in down:
            kafka_cluster.start_node(node_id, wait=False)
        kafka_cluster.wait_for_brokers(3)
        kafka_cluster.wait_in_sync()
        time.sleep(5)
        traffic.stop()
        events = assert_exactly_once(store, traffic, timeout=180)
        assert during["503"] > 0 and traffic.retries > 0
        # the 503s say the spool filled; this, that sends Kafka refused went to it first
        assert "Kafka did not acknowledge" in running.log_path("collect").read_text()
        print(
            f"two of three brokers down 20 s: {events} events, answers while down "
            f"{dict(during)}, {traffic.retries} retries, none lost, none doubled"
        )


def test_every_broker_frozen_then_restarted_spools_then_replays(
    tmp_path: Path, kafka_cluster: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, kafka_cluster, clickhouse_server, JOURNEY_SPOOL_MAX_BYTES="150000") as (
        running,
        store,
    ):
        traffic = under_load(running, rate=200)
        time.sleep(4)
        # 1. no broker answers (frozen: sockets open, nothing said), under load
        for node in kafka_cluster.nodes:
            kafka_cluster.pause_node(node.node_id)
        time.sleep(15)  # events keep coming: spooled (2xx), then the spool is full (503)
        # the collector, its spool full, says it cannot take events; ready again once drained
        # (how soon the spool fills depends on how fast the traffic runs on a busy machine)
        wait_for(lambda: readiness(running.url)[0] == 503, 30, "the collector's spool full")
        frozen = traffic.statuses.copy()
        status, why = readiness(running.url)
        assert status == 503 and "spool is" in why, (status, why)
        for node in kafka_cluster.nodes:
            kafka_cluster.resume_node(node.node_id)
        kafka_cluster.wait_in_sync()
        wait_for(lambda: readiness(running.url)[0] == 200, 60, "the collector ready again")
        time.sleep(5)
        # 2. every broker stopped, and started again from its disk: nothing is lost there, so
        # the loaders carry on from their committed offsets
        for node in kafka_cluster.nodes:
            kafka_cluster.kill_node(node.node_id, signal.SIGKILL)
        time.sleep(8)
        stopped = traffic.statuses.copy()
        for node in kafka_cluster.nodes:
            kafka_cluster.start_node(node.node_id, wait=False)
        kafka_cluster.wait_for_brokers(3)
        time.sleep(8)
        traffic.stop()
        events = assert_exactly_once(store, traffic, timeout=180)
        assert frozen["503"] > 0 and stopped["503"] > frozen["503"] and traffic.retries > 0
        print(
            f"all brokers frozen 15 s, then killed 8 s and restarted: {events} events, answers "
            f"{dict(traffic.statuses)}, {traffic.retries} retries, none lost, none doubled"
        )


def sasl_env(cluster: LocalKafkaCluster, password: str = SASL_PASSWORD) -> dict[str, str]:
    return {
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": ",".join(cluster.sasl_servers),
        "JOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "JOURNEY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "JOURNEY_KAFKA_SASL_USERNAME": SASL_USER,
        "JOURNEY_KAFKA_SASL_PASSWORD": password,
        "JOURNEY_KAFKA_SSL_CAFILE": str(cluster.ca_file),
        "JOURNEY_KAFKA_COMPRESSION": "zstd",
    }


def test_collector_and_loader_on_sasl_ssl(
    tmp_path: Path, broker: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    with pipeline(tmp_path, broker, clickhouse_server, **sasl_env(broker)) as (running, store):
        traffic = under_load(running, rate=300)
        time.sleep(6)
        traffic.stop()
        events = assert_exactly_once(store, traffic)
        assert events > 1000 and set(traffic.statuses) == {"200"}
        print(f"SASL_SSL (SCRAM-SHA-512, zstd): {events} events, none lost, none doubled")


@pytest.mark.parametrize("command", ["collect", "load"])
def test_a_wrong_kafka_password_stops_start_up_with_a_clear_message(
    tmp_path: Path, broker: LocalKafkaCluster, command: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")},
        **sasl_env(broker, password="not-the-password"),
        "JOURNEY_DATA_DIR": str(tmp_path),
        "JOURNEY_CLICKHOUSE_URL": "clickhouse://127.0.0.1:1/unused",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "journey.cli", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as hung:  # say what it was doing, not only that it waited
        raise AssertionError(f"`journey {command}` kept running: {hung.stderr!r}") from None
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    assert "Kafka refused the credentials of JOURNEY_KAFKA_SASL_USERNAME='journey'" in message
    assert "Traceback" not in done.stderr and "not-the-password" not in done.stderr

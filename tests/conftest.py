"""Fixtures. Integration tests start real services on free loopback ports: Apache Kafka (a
three-node KRaft cluster, jars from Maven Central), the bundled Kafka-protocol broker (Tansu) for
the embedded default's smoke tests, Debian's clickhouse-server, and chDB in-process. A service
that cannot start fails the test; nothing is skipped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from collector.spool import Record
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_cluster import LocalClickHouseCluster
from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import LocalKafkaCluster
from journey.broker import LocalBroker
from storage.cluster import on_cluster
from storage.embedded import EmbeddedStore
from storage.server import ServerStore
from storage.store import Store

WRITE_KEY = "test-write-key"
CLUSTER = "journey"


@dataclass
class FakeSink:
    """The collector's next step, for unit tests of the HTTP layer."""

    records: list[Record] = field(default_factory=list)
    unavailable: bool = False

    def deliver(self, records: list[Record]) -> None:
        from collector.sink import Unavailable

        if self.unavailable:
            raise Unavailable("test: spool full")
        self.records.extend(records)

    def close(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"kafka": True}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        data_dir=tmp_path / "data",
        write_keys={WRITE_KEY: "test-source"},
        events_topic=f"events-{suffix}",
        dead_letter_topic=f"dead-letter-{suffix}",
        consumer_group=f"loader-{suffix}",
        kafka_fast_group_join=True,
        loader_batch_seconds=0.2,
        kafka_ack_timeout_s=2.0,
    )


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalKafkaCluster]:
    """Apache Kafka: three KRaft nodes, replication 3, min.insync.replicas 2, on disk. Tests that
    stop or kill brokers start a cluster of their own (``kafka_cluster``)."""
    with LocalKafkaCluster() as running:
        yield running


@pytest.fixture
def kafka_cluster(tmp_path: Path) -> Iterator[LocalKafkaCluster]:
    """A cluster of the test's own, to kill, freeze and restart."""
    with LocalKafkaCluster(root=tmp_path / "kafka") as running:
        yield running
        for node in running.nodes:  # its disk is thrown away: no controlled shutdown to wait for
            running.kill_node(node.node_id)


@pytest.fixture(scope="session")
def bundled_broker() -> Iterator[LocalBroker]:
    """The bundled broker of `journey up` and `make demo` (memory only, one node)."""
    with LocalBroker() as running:
        yield running


@pytest.fixture(scope="session")
def clickhouse_server() -> Iterator[LocalClickHouse]:
    with LocalClickHouse() as running:
        yield running


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_cluster() -> Iterator[LocalClickHouseCluster]:
    """2 shards x 2 replicas and a ZooKeeper: cluster mode (JOURNEY_CLICKHOUSE_CLUSTER)."""
    with LocalClickHouseCluster(shards=2, replicas=2, name=CLUSTER) as running:
        yield running


# Where a suite runs: the ClickHouse server and chDB everywhere; the ingestion and analytics
# suites on the cluster too, where they must give the same numbers as on one node.
ENGINES = ["server", "embedded"]
WITH_CLUSTER = [*ENGINES, "cluster"]
CLUSTER_SUITES = ("analyzer", "loader", "privacy", "storage")


def open_store(kind: str, request: pytest.FixtureRequest, chdb_path: Path) -> Store:
    """A fresh database on the ClickHouse server (``server``), in chDB (``embedded``) or on
    the cluster (``cluster``, through its first node)."""
    database = f"t_{uuid.uuid4().hex[:10]}"
    opened: Store
    if kind == "server":
        server: LocalClickHouse = request.getfixturevalue("clickhouse_server")
        opened = ServerStore(parse_clickhouse_url(server.url), database=database)
    elif kind == "cluster":
        nodes: LocalClickHouseCluster = request.getfixturevalue("clickhouse_cluster")
        opened = ServerStore(parse_clickhouse_url(nodes.url), database=database, cluster=CLUSTER)
    else:
        opened = EmbeddedStore.open(chdb_path, database)
    opened.execute(f"CREATE DATABASE IF NOT EXISTS {database}{on_cluster(opened)}")
    return opened


def drop_store(store: Store) -> None:
    store.execute(f"DROP DATABASE IF EXISTS {store.database}{on_cluster(store)}")
    store.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        suite = metafunc.definition.path.relative_to(Path(__file__).parent).parts[0]
        engines = WITH_CLUSTER if suite in CLUSTER_SUITES else ENGINES
        marked = metafunc.definition.get_closest_marker("engines")
        if marked is not None:
            engines = list(marked.args)
        metafunc.parametrize("store", engines, indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    """A fresh database on the ClickHouse server, in chDB, or on the cluster: the same tests
    run on each (pytest_generate_tests says which)."""
    opened = open_store(request.param, request, chdb_path)
    yield opened
    drop_store(opened)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (tests/ of the snippet and dashboard)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def kafka_settings(settings: Settings, broker: LocalKafkaCluster) -> Settings:
    return settings.with_overrides(kafka_bootstrap_servers=broker.servers)

"""Several processes applying migrations at once (loaders scaled out, started together): one
applies them, the others wait for it, and nobody races on the same DDL. Each starter here has a
connection of its own, as a loader process has, on the ClickHouse server and on the cluster
(chDB is one process by design: its folder is locked)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from core.settings import parse_clickhouse_url
from devservices.clickhouse_cluster import LocalClickHouseCluster
from devservices.clickhouse_server import LocalClickHouse
from storage import migrations
from storage.cluster import on_cluster
from storage.migrations import Migration, Migrator
from storage.server import ServerStore
from tests.conftest import CLUSTER

pytestmark = pytest.mark.integration
STARTERS = 4


@pytest.fixture(params=["server", "cluster"])
def connect(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Opens a new connection to one fresh database, as often as asked."""
    database = f"t_{uuid.uuid4().hex[:10]}"
    if request.param == "server":
        server: LocalClickHouse = request.getfixturevalue("clickhouse_server")
        url, cluster = server.url, None
    else:
        nodes: LocalClickHouseCluster = request.getfixturevalue("clickhouse_cluster")
        url, cluster = nodes.url, CLUSTER
    opened: list[ServerStore] = []

    def open_one() -> ServerStore:
        store = ServerStore(parse_clickhouse_url(url), database=database, cluster=cluster)
        opened.append(store)
        return store

    yield open_one
    first = open_one()
    first.execute(f"DROP DATABASE IF EXISTS {database}{on_cluster(first)}")
    for store in opened:
        store.close()


def start_together(connect: Any, known: list[Migration]) -> list[list[Migration]]:
    """STARTERS threads, each with its own connection, apply the migrations at once."""
    gate = threading.Barrier(STARTERS)
    ran: list[list[Migration]] = []
    errors: list[BaseException] = []

    def starter() -> None:
        store = connect()
        gate.wait()
        try:
            ran.append(migrations.apply(store, known))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=starter) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not errors, errors
    assert len(ran) == STARTERS
    return ran


def recorded(store: ServerStore) -> list[int]:
    rows = store.execute(
        f"SELECT version FROM {store.database}.journey_migrations ORDER BY version"
    )
    return [int(r[0]) for r in rows]


def test_loaders_started_together_apply_each_migration_once(connect: Any) -> None:
    known = migrations.discover()
    ran = start_together(connect, known)
    assert sorted(len(r) for r in ran) == [0] * (STARTERS - 1) + [len(known)]
    store = connect()
    assert recorded(store) == [m.version for m in known]  # one row each: nobody ran it twice
    assert not migrations.pending(store)

    def add_channel(m: Migrator) -> None:
        m.add_column("events", "test_channel", "String", after="source")

    added = Migration(len(known) + 1, "add_test_channel", "a column added later", add_channel)
    ran = start_together(connect, [*known, added])
    assert sorted(len(r) for r in ran) == [0] * (STARTERS - 1) + [1]
    assert recorded(store) == [m.version for m in known] + [added.version]
    assert Migrator(store).has_column("events", "test_channel")
    store.execute(f"SELECT test_channel FROM {store.database}.events LIMIT 1")

"""The loader on a ClickHouse cluster (2 shards x 2 replicas, ZooKeeper): events spread over
the shards by visitor, replicas agree, and a replica stopped under load loses nothing."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_cluster import LocalClickHouseCluster
from storage import migrations
from storage.server import ServerStore
from storage.store import Store
from tests.conftest import drop_store, open_store
from tests.helpers import count_events, load_until_idle
from tests.loader.test_loader_integration import event, produce

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_store(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    store = open_store("cluster", request, chdb_path)
    migrations.apply(store)
    yield store
    drop_store(store)


def node_store(node_url: str, database: str) -> ServerStore:
    return ServerStore(parse_clickhouse_url(node_url), database=database)


def local_counts(cluster: LocalClickHouseCluster, database: str) -> list[list[int]]:
    """Rows in events_local on each replica of each shard, once replication has caught up."""
    counts = []
    for shard in cluster.shards:
        row = []
        for node in shard:
            store = node_store(node.url, database)
            store.execute(f"SYSTEM SYNC REPLICA {database}.events_local")
            row.append(int(store.execute(f"SELECT count() FROM {database}.events_local")[0][0]))
            store.close()
        counts.append(row)
    return counts


def test_events_spread_over_the_shards_by_visitor(
    kafka_settings: Settings, cluster_store: Store, clickhouse_cluster: LocalClickHouseCluster
) -> None:
    produce(kafka_settings, [event(i, visitor=f"v{i % 60}") for i in range(3000)])
    load_until_idle(kafka_settings, cluster_store)
    assert count_events(cluster_store) == (3000, 3000)
    db = cluster_store.database
    counts = local_counts(clickhouse_cluster, db)
    assert [row[0] == row[1] for row in counts] == [True, True]  # the replicas agree
    assert all(row[0] > 300 for row in counts)  # both shards hold a fair part
    assert sum(row[0] for row in counts) == 3000  # and no event is on two shards
    # one visitor, one shard
    visitors_per_shard = []
    for shard in clickhouse_cluster.shards:
        store = node_store(shard[0].url, db)
        visitors_per_shard.append(
            {r[0] for r in store.execute(f"SELECT DISTINCT anonymous_id FROM {db}.events_local")}
        )
        store.close()
    assert not visitors_per_shard[0] & visitors_per_shard[1]
    assert len(visitors_per_shard[0] | visitors_per_shard[1]) == 420  # (i mod 60, i mod 7)


def test_a_stopped_replica_loses_nothing(
    kafka_settings: Settings, cluster_store: Store, clickhouse_cluster: LocalClickHouseCluster
) -> None:
    db = cluster_store.database
    produce(kafka_settings, [event(i, visitor=f"v{i % 50}") for i in range(1000)])
    load_until_idle(kafka_settings, cluster_store)
    # shard 2's first replica, where its writes and reads go while it is up, stops under load
    preferred = clickhouse_cluster.shards[1][0]
    preferred.stop()
    try:
        produce(kafka_settings, [event(i, visitor=f"w{i % 50}") for i in range(1000, 3000)])
        load_until_idle(kafka_settings, cluster_store)
        assert count_events(cluster_store) == (3000, 3000)  # reads fail over to the other
    finally:
        preferred.start()
    counts = local_counts(clickhouse_cluster, db)  # the restarted replica fetched what it missed
    assert counts[1][0] == counts[1][1]
    assert counts[0][0] == counts[0][1]
    assert sum(row[0] for row in counts) == 3000
    # and it serves alone: with its peer stopped, the cluster still counts every event
    peer = clickhouse_cluster.shards[1][1]
    peer.stop()
    try:
        assert count_events(cluster_store) == (3000, 3000)
    finally:
        peer.start()

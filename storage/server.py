"""A ClickHouse server over the native protocol (clickhouse-driver)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from core.settings import ClickHouseURL
from storage.sql import bind, identifier
from storage.store import Store, StoreUnavailable

# Errors that say "the server is not there right now", as opposed to "this query is wrong".
_NETWORK_ERRORS = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, OSError)


# What a cluster session needs: an insert into a Distributed table returns only once every shard
# has its rows (the loader commits Kafka offsets after that); IN and JOIN over a Distributed
# table inside a distributed query are computed once and sent to the shards (GLOBAL), which is
# what a stitched journey across shards needs; and reads prefer the replica writes go to first
# (the order of <remote_servers>), so a report sees what was just loaded.
CLUSTER_SETTINGS = {
    "insert_distributed_sync": 1,
    "distributed_product_mode": "global",
    "load_balancing": "in_order",
}


class ServerStore:
    """One connection (clickhouse-driver's Client is not thread-safe, so calls are serialised).

    With ``cluster``, the database spans that cluster's nodes (storage.cluster)."""

    def __init__(
        self, url: ClickHouseURL, database: str | None = None, cluster: str | None = None
    ) -> None:
        self.url = url
        self.database = identifier(database or url.database)
        self.cluster = identifier(cluster) if cluster else None
        self._lock = threading.Lock()
        self._client = Client(
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password,
            secure=url.secure,
            connect_timeout=5,
            send_receive_timeout=300,
            settings={"use_client_time_zone": False, **(CLUSTER_SETTINGS if cluster else {})},
        )

    def _run(self, sql: str, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return self._client.execute(sql, **kwargs)
            except _NETWORK_ERRORS as exc:
                self._client.disconnect()
                raise StoreUnavailable(
                    f"ClickHouse at {self.url.host}:{self.url.port}: {exc}"
                ) from exc

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        rows = self._run(bind(sql, params))
        return list(rows) if isinstance(rows, list) else []

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        rows, columns = self._run(bind(sql, params), with_column_types=True)
        return pd.DataFrame.from_records(rows, columns=[name for name, _ in columns])

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.insert_columns(table, columns, list(zip(*rows, strict=True)))

    def insert_columns(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]
    ) -> None:
        cols = ", ".join(identifier(c) for c in columns)
        self._run(
            f"INSERT INTO {identifier(self.database)}.{identifier(table)} ({cols}) VALUES",
            params=data,
            columnar=True,
            types_check=False,
        )

    def nodes(self) -> list[Store]:
        """A store on each node of the cluster (every replica), same credentials and database."""
        if not self.cluster:
            return [self]
        rows = self.execute(
            "SELECT host_name, port FROM system.clusters WHERE cluster = %(c)s "
            "ORDER BY shard_num, replica_num",
            {"c": self.cluster},
        )
        return [
            ServerStore(replace(self.url, host=str(host), port=int(port)), self.database)
            for host, port in rows
        ]

    def version(self) -> tuple[int, ...]:
        (raw,) = self._run("SELECT version()")[0]
        return tuple(int(p) for p in raw.split(".") if p.isdigit())

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()

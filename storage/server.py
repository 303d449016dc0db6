"""A ClickHouse server over the native protocol (clickhouse-driver)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from core.settings import ClickHouseURL
from storage.sql import bind, identifier
from storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

# Errors that say "the server is not there right now", as opposed to "this query is wrong".
_NETWORK_ERRORS = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, EOFError, OSError)

# Errors a server reports about its own connection to another node of a cluster, which a second
# try of the same read does not meet. A distributed read that stops early (LIMIT) cancels the
# shards' queries, and ClickHouse can hand the cancelled connection to the next query still out
# of step: the shard then answers "Unexpected packet Data received from client" (fixed for
# 18.x-20.x by ClickHouse PR 17254; the same kind of fault came back in 25.x, issues 85961 and
# 93018). Seen once in our CI, on the 2x2 test cluster (18.16).
_RETRIED_SERVER_CODES = frozenset(
    {
        ch_errors.ErrorCodes.UNEXPECTED_PACKET_FROM_CLIENT,
        ch_errors.ErrorCodes.UNEXPECTED_PACKET_FROM_SERVER,
        ch_errors.ErrorCodes.NETWORK_ERROR,
        ch_errors.ErrorCodes.SOCKET_TIMEOUT,
        ch_errors.ErrorCodes.ALL_CONNECTION_TRIES_FAILED,
    }
)
READ_TRIES = 3


def is_read(sql: str) -> bool:
    """Whether ``sql`` only reads (so it can be sent again): a SELECT or WITH ... SELECT."""
    head = sql.lstrip().lstrip("(").lstrip()[:6].upper()
    return head.startswith(("SELECT", "WITH"))


def retried(exc: BaseException) -> bool:
    """Whether a read that failed with ``exc`` is sent again: a node of the cluster reported a
    fault in its connection to another node, not a fault of the query."""
    return isinstance(exc, ch_errors.ServerException) and exc.code in _RETRIED_SERVER_CODES


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
            for attempt in range(1, READ_TRIES if is_read(sql) else 1):
                try:
                    return self._send(sql, **kwargs)
                except ch_errors.ServerException as exc:
                    if not retried(exc):
                        raise
                    log.warning(
                        "a read failed between cluster nodes; sending it again: %s",
                        str(exc).splitlines()[0],
                    )
                    time.sleep(0.05 * attempt)
            return self._send(sql, **kwargs)

    def _send(self, sql: str, **kwargs: Any) -> Any:
        try:
            return self._client.execute(sql, **kwargs)
        except _NETWORK_ERRORS as exc:
            self._client.disconnect()
            raise StoreUnavailable(f"ClickHouse at {self.url.host}:{self.url.port}: {exc}") from exc

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

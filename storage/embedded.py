"""ClickHouse in-process (chDB): the default when no server is configured.

chDB allows one data path per process, so there is one EmbeddedStore per path, shared by every
thread of the process (the loader writes, queries read) behind a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import orjson
import pandas as pd
from chdb import session as chdb_session

from storage.sql import bind, identifier
from storage.store import Store


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(f"cannot insert a {type(value).__name__}")


class EmbeddedStore:
    cluster: str | None = None  # chDB is one node
    _sessions: ClassVar[dict[Path, chdb_session.Session]] = {}
    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path, database: str) -> None:
        self.path = path
        self.database = identifier(database)
        self._session = self._sessions[path]
        self._lock = self._locks[path]

    @classmethod
    def open(cls, path: Path, database: str = "journey") -> EmbeddedStore:
        path = path.resolve()
        with cls._guard:
            if path not in cls._sessions:
                if cls._sessions:
                    other = next(iter(cls._sessions))
                    raise RuntimeError(
                        f"chDB already holds {other} in this process; one embedded path per process"
                    )
                path.mkdir(parents=True, exist_ok=True)
                cls._sessions[path] = chdb_session.Session(str(path))
                cls._locks[path] = threading.Lock()
        store = cls(path, database)
        store.execute(f"CREATE DATABASE IF NOT EXISTS {store.database}")
        return store

    def _query(self, sql: str, fmt: str) -> Any:
        with self._lock:
            return self._session.query(sql, fmt)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        text = bind(sql, params)
        if not _returns_rows(text):
            self._query(text, "CSV")
            return []
        df = self._query(text, "DataFrame")
        return [tuple(_plain(v) for v in row) for row in df.itertuples(index=False, name=None)]

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        df: pd.DataFrame = self._query(bind(sql, params), "DataFrame")
        return df

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.insert_columns(table, columns, list(zip(*rows, strict=True)))

    def insert_columns(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]
    ) -> None:
        if not data or not len(data[0]):
            return
        names = [identifier(c) for c in columns]
        # one JSON array per column: encoded by orjson in one call, parsed by ClickHouse per column
        # (chDB's Python() table function reads the lists as they are, in half the time on its
        # own, but no faster within the loader's whole run, and it takes no arrays)
        body = orjson.dumps(data, default=_json_default)
        sql = (
            f"INSERT INTO {self.database}.{identifier(table)} ({', '.join(names)}) "
            f"FORMAT JSONCompactColumns\n"
        )
        self._query(sql + body.decode(), "CSV")

    def nodes(self) -> list[Store]:
        return [self]

    def version(self) -> tuple[int, ...]:
        (raw,) = self.execute("SELECT version()")[0]
        return tuple(int(p) for p in str(raw).split(".") if p.isdigit())

    def close(self) -> None:
        """The session stays open for the life of the process (chDB cannot reopen another path)."""


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS")


def _plain(value: Any) -> Any:
    """pandas and numpy scalars as plain Python values, so both stores return the same rows."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.ndarray):  # an Array column: a list, as clickhouse-driver gives
        return [_plain(v) for v in value.tolist()]
    item = getattr(value, "item", None)
    return item() if callable(item) else value

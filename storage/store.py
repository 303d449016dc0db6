"""The store interface the loader and the analyzer use, and how to open the configured one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd


class StoreUnavailable(RuntimeError):
    """The store cannot be reached right now: retry later, lose nothing."""


class Store(Protocol):
    """ClickHouse, whichever engine is behind it. SQL uses ``%(name)s`` parameters."""

    database: str
    cluster: str | None  # the ClickHouse cluster the tables span; None on one node

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; rows of a SELECT as tuples."""
        ...

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a SELECT; the result as a DataFrame."""
        ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in one block. DateTime values are epoch seconds or aware datetimes."""
        ...

    def insert_columns(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]
    ) -> None:
        """Insert one block given a column at a time: ``data[i]`` holds the values of
        ``columns[i]``, all of one length (what both engines take without transposing)."""
        ...

    def nodes(self) -> list[Store]:
        """A store on every node holding the database: itself on one node, each replica of
        each shard on a cluster (to check what only a node's own tables tell)."""
        ...

    def version(self) -> tuple[int, ...]:
        """The ClickHouse version, for features a newer server offers."""
        ...

    def close(self) -> None: ...

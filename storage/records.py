"""Small tables of records every process of a deployment must agree on: write keys and analysts'
tokens. Rows are string-valued dicts with a primary key; ``put`` inserts or replaces by it.

- ``SqliteRecords``: a file under JOURNEY_DATA_DIR, for the embedded default (one machine).
- ``ClickHouseRecords``: a ReplacingMergeTree in the deployment's ClickHouse (replicated to every
  node on a cluster, migration 0010), so a key created or revoked through any host reaches
  every collector and API process. A replacement is a newer version of the row.
- ``CachedRecords``: what a serving process reads through: refreshed every ``refresh_seconds``
  (the bound on how long a change takes to reach it), kept when the store is unreachable, and
  copied to a local file so that a restart while ClickHouse is down still knows the keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from storage.sql import identifier
from storage.store import Store

log = logging.getLogger(__name__)

Row = dict[str, str]


class Records(Protocol):
    columns: tuple[str, ...]  # the first is the primary key

    def all(self) -> list[Row]: ...

    def put(self, rows: Sequence[Row]) -> None: ...


class SqliteRecords:
    def __init__(self, path: Path, table: str, columns: Sequence[str]) -> None:
        self.path = path
        self.table = identifier(table)
        self.columns = tuple(identifier(c) for c in columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        key, *rest = self.columns
        with self._db() as db:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ({key} TEXT PRIMARY KEY, "
                + ", ".join(f"{c} TEXT NOT NULL DEFAULT ''" for c in rest)
                + ")"
            )
            present = {row[1] for row in db.execute(f"PRAGMA table_info({self.table})")}
            for column in rest:  # files made before a column was added
                if column not in present:
                    db.execute(
                        f"ALTER TABLE {self.table} ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
                    )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def all(self) -> list[Row]:
        with self._db() as db:
            found = db.execute(f"SELECT {', '.join(self.columns)} FROM {self.table}").fetchall()
        return [dict(zip(self.columns, (v or "" for v in r), strict=True)) for r in found]

    def put(self, rows: Sequence[Row]) -> None:
        marks = ", ".join("?" for _ in self.columns)
        with self._db() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})",
                [tuple(r.get(c, "") for c in self.columns) for r in rows],
            )


class ClickHouseRecords:
    """Rows in ``table`` (String columns and ``version UInt64``); the newest version of each key
    is the row. Versions are nanoseconds of the writer's clock."""

    def __init__(self, store: Store, table: str, columns: Sequence[str]) -> None:
        self.store = store
        self.table = identifier(table)
        self.columns = tuple(identifier(c) for c in columns)

    def all(self) -> list[Row]:
        key, *rest = self.columns
        picked = ", ".join(f"argMax({c}, version)" for c in rest)
        found = self.store.execute(
            f"SELECT {key}, {picked} FROM {self.store.database}.{self.table} GROUP BY {key}"
        )
        return [dict(zip(self.columns, (str(v) for v in r), strict=True)) for r in found]

    def put(self, rows: Sequence[Row]) -> None:
        version = time.time_ns()
        self.store.insert(
            self.table,
            [*self.columns, "version"],
            [[*(r.get(c, "") for c in self.columns), version] for r in rows],
        )


class CachedRecords:
    """Reads through a cache refreshed every ``refresh_seconds``; writes go straight through and
    make the next read refresh. Unreachable stores keep the last rows (and, across a restart,
    the copy in ``fallback``)."""

    def __init__(
        self, records: Records, refresh_seconds: float, fallback: Path | None = None
    ) -> None:
        self.records = records
        self.columns = records.columns
        self.refresh_seconds = refresh_seconds
        self.fallback = fallback
        self._rows: list[Row] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def all(self) -> list[Row]:
        """The cached rows: the same list until the next refresh (readers must not change it;
        KeyStore rebuilds its index only when it gets a new one)."""
        with self._lock:
            if self._rows is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
                self._refresh()
            assert self._rows is not None
            return self._rows

    def _refresh(self) -> None:
        try:
            rows = self.records.all()
        except Exception as exc:  # noqa: BLE001 - unreachable or not migrated yet: keep the last
            if self._rows is None:
                self._rows = self._read_fallback()
            log.warning("could not refresh %s (%s); using the last known rows", self.columns, exc)
            self._loaded_at = time.monotonic()  # try again after a period, not on every request
            return
        self._rows = rows
        self._loaded_at = time.monotonic()
        self._write_fallback(rows)

    def put(self, rows: Sequence[Row]) -> None:
        self.records.put(rows)
        with self._lock:
            self._loaded_at = 0.0
            self._rows = None

    def _read_fallback(self) -> list[Row]:
        if self.fallback is None:
            return []
        with contextlib.suppress(OSError, ValueError):
            rows = json.loads(self.fallback.read_text())
            return [{str(k): str(v) for k, v in r.items()} for r in rows]
        return []

    def _write_fallback(self, rows: list[Row]) -> None:
        if self.fallback is None:
            return
        with contextlib.suppress(OSError):  # the copy is a convenience, never a failure
            self.fallback.parent.mkdir(parents=True, exist_ok=True)
            partial = self.fallback.with_name(f"{self.fallback.name}.{os.getpid()}.partial")
            partial.write_text(json.dumps(rows))
            partial.chmod(0o600)
            partial.replace(self.fallback)


def move_local(path: Path, table: str, shared: Records) -> None:
    """Rows of a SQLite file made before the table was shared, into ``shared`` (once: the file
    is then renamed ``*.moved``). Left for next time if ClickHouse cannot take them yet."""
    if not path.exists():
        return
    with contextlib.suppress(Exception):  # not reachable or not migrated yet: next time
        key = shared.columns[0]
        known = {r[key] for r in shared.all()}
        rows = SqliteRecords(path, table, shared.columns).all()
        if new := [r for r in rows if r[key] not in known]:
            shared.put(new)
        path.replace(path.with_name(path.name + ".moved"))

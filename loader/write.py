"""Step 4: insert a batch. The world being down (server unreachable, overloaded) is retried
with backoff and never loses the batch; a row that can never load is isolated by bisecting and
handed back to be dead-lettered. A batch the server refuses for memory is halved too, and a
single row still refused after ``MEMORY_TRIES`` tries is dead-lettered with the reason, so one
enormous event cannot stall every batch after it.

A batch spanning many months (a history import) is inserted in parts of at most
``MAX_PARTITIONS_PER_INSERT`` months each: ClickHouse refuses one insert that touches more
than 100 partitions of a table (``max_partitions_per_insert_block``), and the events table has
one partition a month. A live stream's batch lies in one month and goes in one insert."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from core import metrics
from loader.steps import Outgoing
from storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "this data is wrong", not "the server has a problem".
DATA_ERROR_CODES = {6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321}
_CODE = re.compile(r"Code:\s*(\d+)")
# Code 252 is also "too many parts" (merges behind: an outage, retried); this one is the data's.
_TOO_MANY_PARTITIONS = "too many partitions for single insert block"
MAX_PARTITIONS_PER_INSERT = 100
_DAY = 86_400


# The server refused an insert for the memory it needed (MEMORY_LIMIT_EXCEEDED,
# CANNOT_ALLOCATE_MEMORY): a batch too big for it, or a server short of memory for a while.
MEMORY_CODES = {173, 241}
# How often one row refused for memory is tried before it is dead-lettered: a server short of
# memory for a moment takes it on a later try; a row it can never hold is not retried for ever.
MEMORY_TRIES = 3


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if code is None:
        match = _CODE.search(str(exc))
        code = int(match.group(1)) if match else None
    return code if isinstance(code, int) else None


def is_data_error(exc: BaseException) -> bool:
    if isinstance(exc, (TypeError, ValueError, OverflowError, UnicodeError)):
        return True  # the client could not even encode the row
    if _TOO_MANY_PARTITIONS in str(exc).lower():
        return True  # bisected like any refusal of the data: the halves touch fewer months
    return _code(exc) in DATA_ERROR_CODES


def is_too_big(exc: BaseException) -> bool:
    """The server had not the memory for this insert: halve it, rather than retry it whole for
    ever (nothing after it would load)."""
    return _code(exc) in MEMORY_CODES


class Writer:
    """Step 4 (module docstring); as a step it notes the poison rows for the dead letters."""

    name = "write"

    def __init__(
        self,
        store: Store,
        table: str,
        columns: Sequence[str],
        wait: Callable[[float], None] = time.sleep,
        max_backoff: float = 30.0,
        stopping: Callable[[], bool] = lambda: False,
        omit_empty: Collection[str] = (),
    ) -> None:
        self.store = store
        self.table = table
        self.columns = list(columns)
        # columns left out of an insert where every row's value is empty: the table's default
        # for them is that empty value, and a column not sent costs the client nothing
        self.omit_empty = [i for i, c in enumerate(self.columns) if c in set(omit_empty)]
        self.wait = wait  # the loader keeps polling (partitions paused) while it waits
        self.max_backoff = max_backoff
        self.stopping = stopping  # while the world is down, a stop abandons the batch uncommitted
        self.reachable = True  # as of the last insert: for the loader's readiness
        # the events table's rows are split by month (its partition) when a batch spans many
        self.month_at = (
            self.columns.index("timestamp")
            if table == "events" and "timestamp" in self.columns
            else None
        )

    def __call__(self, outgoing: Outgoing) -> None:
        outgoing.poison = self.write(outgoing.rows)

    def write(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Insert every loadable row, its last column stamped with the time of writing;
        (index, reason) of the rows that can never load."""
        if not rows:
            return []
        stamp = int(datetime.now(UTC).timestamp())
        if self.month_at is None:
            return self._write(rows, 0, stamp)
        refused: list[tuple[int, str]] = []
        for indexes in by_months(rows, self.month_at):
            part = rows if len(indexes) == len(rows) else [rows[i] for i in indexes]
            refused += [(indexes[i], why) for i, why in self._write(part, 0, stamp)]
        return sorted(refused)

    def _write(
        self, rows: Sequence[tuple[Any, ...]], start: int, stamp: int
    ) -> list[tuple[int, str]]:
        try:
            self._insert_retrying(*self._block(rows, stamp))
            return []
        except Exception as exc:  # noqa: BLE001 - classified just below
            if not (is_data_error(exc) or is_too_big(exc)):
                raise
            if len(rows) == 1:
                return [(start, f"ClickHouse refused the row: {str(exc)[:500]}")]
            mid = len(rows) // 2
            return self._write(rows[:mid], start, stamp) + self._write(
                rows[mid:], start + mid, stamp
            )

    def _block(
        self, rows: Sequence[tuple[Any, ...]], stamp: int
    ) -> tuple[list[str], list[Sequence[Any]]]:
        """The columns to insert and their values, a column at a time (transposed once, in C;
        raises ValueError if a row has not got a value per column, a refusal of the data)."""
        data: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if len(data) != len(self.columns):
            raise ValueError(f"rows of {len(data)} values for {len(self.columns)} columns")
        data[-1] = [stamp] * len(rows)
        empty = {i for i in self.omit_empty if not any(data[i])}
        if not empty:
            return self.columns, data
        kept = [i for i in range(len(data)) if i not in empty]
        return [self.columns[i] for i in kept], [data[i] for i in kept]

    def _insert_retrying(self, columns: list[str], data: list[Sequence[Any]]) -> None:
        backoff = 0.5
        counted = metrics.loader()
        rows = len(data[0])
        refused_for_memory = 0
        while True:
            started = time.monotonic()
            try:
                self.store.insert_columns(self.table, columns, data)
                counted.insert_seconds.observe(time.monotonic() - started)
                self.reachable = True
                return
            except StoreUnavailable as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001
                if is_data_error(exc):
                    self.reachable = True  # it answered: the row is wrong, not the store
                    raise
                if is_too_big(exc):
                    self.reachable = True  # it answered: this insert is too big for it
                    refused_for_memory += 1
                    if rows > 1 or refused_for_memory >= MEMORY_TRIES:
                        raise  # halved by the caller; a lone row, dead-lettered
                reason = f"server error: {str(exc)[:300]}"
            self.reachable = False
            counted.insert_retries.inc()
            if self.stopping():
                raise StoreUnavailable(
                    f"stopping with {rows} rows unwritten and uncommitted: {reason}"
                )
            log.warning("insert of %d rows failed (%s); retrying in %.1fs", rows, reason, backoff)
            self.wait(backoff)
            backoff = min(self.max_backoff, backoff * 2)


@functools.lru_cache(maxsize=4096)
def _month(day: int) -> int:
    moment = datetime.fromtimestamp(day * _DAY, UTC)
    return moment.year * 12 + moment.month


def by_months(
    rows: Sequence[tuple[Any, ...]], at: int, limit: int = MAX_PARTITIONS_PER_INSERT
) -> list[list[int]]:
    """The indexes of ``rows`` in groups touching at most ``limit`` months each (by the epoch
    seconds in column ``at``); one group, in order, when they lie in few enough months."""
    seconds = [int(row[at]) for row in rows]
    if _month(min(seconds) // _DAY) == _month(max(seconds) // _DAY):
        return [list(range(len(rows)))]  # a live stream's batch: one month
    months = [_month(s // _DAY) for s in seconds]
    if len(set(months)) <= limit:
        return [list(range(len(rows)))]
    order = sorted(range(len(rows)), key=months.__getitem__)
    groups: list[list[int]] = [[]]
    seen: set[int] = set()
    for i in order:
        if months[i] not in seen and len(seen) == limit:
            groups.append([])
            seen = set()
        seen.add(months[i])
        groups[-1].append(i)
    return groups

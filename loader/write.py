"""Step 3: insert a batch. The world being down (server unreachable, overloaded) is retried
with backoff and never loses the batch; a row that can never load is isolated by bisecting and
handed back to be dead-lettered."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "this data is wrong", not "the server has a problem".
DATA_ERROR_CODES = {6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321}
_CODE = re.compile(r"Code:\s*(\d+)")


def is_data_error(exc: BaseException) -> bool:
    if isinstance(exc, (TypeError, ValueError, OverflowError, UnicodeError)):
        return True  # the client could not even encode the row
    code = getattr(exc, "code", None)
    if code is None:
        match = _CODE.search(str(exc))
        code = int(match.group(1)) if match else None
    return code in DATA_ERROR_CODES


class Writer:
    def __init__(
        self,
        store: Store,
        table: str,
        columns: Sequence[str],
        wait: Callable[[float], None] = time.sleep,
        max_backoff: float = 30.0,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.table = table
        self.columns = list(columns)
        self.wait = wait  # the loader keeps polling (partitions paused) while it waits
        self.max_backoff = max_backoff
        self.stopping = stopping  # while the world is down, a stop abandons the batch uncommitted

    def write(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Insert every loadable row; (index, reason) of the rows that can never load."""
        if not rows:
            return []
        stamp = int(datetime.now(UTC).timestamp())
        stamped = [(*row[:-1], stamp) for row in rows]
        return self._write(stamped, 0)

    def _write(self, rows: list[tuple[Any, ...]], start: int) -> list[tuple[int, str]]:
        try:
            self._insert_retrying(rows)
            return []
        except Exception as exc:  # noqa: BLE001 - classified just below
            if not is_data_error(exc):
                raise
            if len(rows) == 1:
                return [(start, f"ClickHouse refused the row: {str(exc)[:500]}")]
            mid = len(rows) // 2
            return self._write(rows[:mid], start) + self._write(rows[mid:], start + mid)

    def _insert_retrying(self, rows: list[tuple[Any, ...]]) -> None:
        backoff = 0.5
        while True:
            try:
                self.store.insert(self.table, self.columns, rows)
                return
            except StoreUnavailable as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001
                if is_data_error(exc):
                    raise
                reason = f"server error: {str(exc)[:300]}"
            if self.stopping():
                raise StoreUnavailable(
                    f"stopping with {len(rows)} rows unwritten and uncommitted: {reason}"
                )
            log.warning(
                "insert of %d rows failed (%s); retrying in %.1fs", len(rows), reason, backoff
            )
            self.wait(backoff)
            backoff = min(self.max_backoff, backoff * 2)

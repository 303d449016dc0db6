"""The ids of erased people, as the loader sees them: events carrying one are not loaded again.

Kafka keeps an erased person's events until its retention runs out, and a loader that restarts
or a group that is reset reads them again; without this they would come back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from privacy.erasure import digest, suppressed
from storage.store import Store

REFRESH_SECONDS = 5.0


class Suppression:
    def __init__(self, store: Store, anonymous_index: int, user_index: int) -> None:
        self.store = store
        self.anonymous_index = anonymous_index
        self.user_index = user_index
        self.digests: set[str] = set()
        self.loaded_at: float | None = None

    def stale(self) -> bool:
        return self.loaded_at is None or time.monotonic() - self.loaded_at > REFRESH_SECONDS

    def refresh(self) -> None:
        """Read the suppressed ids again; raises what the store raises."""
        self.digests = suppressed(self.store)
        self.loaded_at = time.monotonic()

    def keep(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows whose ids are not suppressed."""
        if not self.digests:
            return list(rows)
        return [row for row in rows if not self._suppressed(row)]

    def _suppressed(self, row: tuple[Any, ...]) -> bool:
        for index in (self.anonymous_index, self.user_index):
            value = row[index]
            if value and digest(value) in self.digests:
                return True
        return False

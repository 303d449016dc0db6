"""Step 3: leave out the rows of people who were erased (privacy.suppression), so a replayed
or re-read event of theirs is not loaded again.

Until the erased ids have been read once nothing is written (the store is down then anyway:
the step waits, polling, as the writer does); later, a failed refresh keeps the last list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from loader.steps import Outgoing
from privacy.suppression import Suppression
from storage.store import StoreUnavailable

log = logging.getLogger(__name__)


class Suppress:
    name = "suppress"

    def __init__(
        self,
        suppression: Suppression,
        wait: Callable[[float], None],
        stopping: Callable[[], bool],
        max_backoff: float = 30.0,
    ) -> None:
        self.suppression = suppression
        self.wait = wait  # the loader keeps polling (partitions paused) while it waits
        self.stopping = stopping
        self.max_backoff = max_backoff

    def __call__(self, outgoing: Outgoing) -> None:
        if not outgoing.rows:
            return
        backoff = 0.5
        while self.suppression.stale():
            try:
                self.suppression.refresh()
            except Exception as exc:  # noqa: BLE001 - the store's trouble: retry, lose nothing
                if self.suppression.loaded_at is not None:
                    break
                if self.stopping():
                    raise StoreUnavailable(
                        f"stopping before the erased ids could be read: {exc}"
                    ) from exc
                log.warning("reading the erased ids failed (%s); retrying in %.1fs", exc, backoff)
                self.wait(backoff)
                backoff = min(self.max_backoff, backoff * 2)
        kept = self.suppression.keep(outgoing.rows)
        outgoing.suppressed += len(outgoing.rows) - len(kept)
        outgoing.rows = kept

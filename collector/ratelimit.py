"""Token buckets per write key (events/s) and per client IP (requests/s), per process."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """``allow(name, cost)`` spends tokens; a rate of 0 means no limit. Bursts of one second."""

    def __init__(self, rate_per_second: float, max_tracked: int = 100_000) -> None:
        self.rate = rate_per_second
        self.max_tracked = max_tracked
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, name: str, cost: float = 1.0) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.rate, now))
            tokens = min(self.rate, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[name] = (tokens, now)
                return False
            if len(self._buckets) >= self.max_tracked and name not in self._buckets:
                self._buckets.clear()  # bounded memory under an address-spraying flood
            self._buckets[name] = (tokens - cost, now)
            return True

"""Token buckets per write key (events/s) and per client IP (requests/s), per process.

A bucket holds ``burst`` tokens and refills at ``rate`` a second. A request costing more than
the bucket can ever hold (an SDK's batch larger than the burst) is still admitted once the
bucket is full, and leaves it in debt: the average rate holds, and no batch is refused for
ever (an SDK retrying a 100-event batch against a 50-token bucket would otherwise retry until
it gives up and drops the events).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

# A write key's default burst: more than any SDK's default batch (analytics-python sends 100).
DEFAULT_BURST_EVENTS = 500.0


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass; if not, how long until the same request would."""

    allowed: bool
    retry_after: float = 0.0  # seconds

    @property
    def retry_after_seconds(self) -> int:
        """``retry_after`` rounded up to whole seconds, at least 1: what Retry-After says."""
        return max(1, math.ceil(self.retry_after))


ALLOWED = Verdict(True)


class RateLimiter:
    """``check(name, cost)`` spends tokens; a rate of 0 means no limit. ``burst`` (default one
    second of ``rate``) is the bucket's size."""

    def __init__(
        self, rate_per_second: float, burst: float = 0.0, max_tracked: int = 100_000
    ) -> None:
        self.rate = rate_per_second
        self.burst = burst if burst > 0 else rate_per_second
        self.max_tracked = max_tracked
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str, cost: float = 1.0) -> Verdict:
        if self.rate <= 0:
            return ALLOWED
        now = time.monotonic()
        needed = min(cost, self.burst)  # a larger request waits for a full bucket, no more
        with self._lock:
            tokens, last = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < needed:
                self._buckets[name] = (tokens, now)
                return Verdict(False, (needed - tokens) / self.rate)
            if len(self._buckets) >= self.max_tracked and name not in self._buckets:
                self._buckets.clear()  # bounded memory under an address-spraying flood
            self._buckets[name] = (tokens - cost, now)
            return ALLOWED

    def allow(self, name: str, cost: float = 1.0) -> bool:
        return self.check(name, cost).allowed

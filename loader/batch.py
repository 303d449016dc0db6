"""Step 2: gather rows until the batch is big enough or old enough; remember the offsets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition


@dataclass
class Batch:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # last offset seen
    seen: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)

    def add(self, rows: list[tuple[Any, ...]], tp: TopicPartition, offset: int) -> None:
        """Add a message's rows; a second copy of an event_id already in the batch is dropped."""
        self.skip(tp, offset)
        for row in rows:
            if row[0] not in self.seen:
                self.seen.add(row[0])
                self.rows.append(row)

    def skip(self, tp: TopicPartition, offset: int) -> None:
        """Account for a message that adds no row (dead-lettered, or a duplicate)."""
        if not self.offsets and not self.rows:
            self.started = time.monotonic()
        self.offsets[tp] = max(offset, self.offsets.get(tp, -1))

    def ready(self, max_rows: int, max_seconds: float) -> bool:
        if not self.offsets:
            return False
        return len(self.rows) >= max_rows or time.monotonic() - self.started >= max_seconds

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Partitions taken away by a rebalance: their offsets are no longer ours to commit."""
        for tp in partitions:
            self.offsets.pop(tp, None)

"""Step 6, last: commit ``offset + 1`` for each partition, only after the rows are written and the
dead letters acknowledged."""

from __future__ import annotations

import logging
from typing import Any

from kafka import TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from loader.steps import Outgoing

log = logging.getLogger(__name__)


class Committer:
    name = "commit"

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer

    def __call__(self, outgoing: Outgoing) -> None:
        # the offsets may have shrunk if a rebalance took partitions while the batch was written
        outgoing.committed = self.commit(outgoing.offsets)

    def commit(self, offsets: dict[TopicPartition, int]) -> bool:
        """True if committed. A failure is logged, not raised: the rows are written, and the
        messages will be read again and collapse as duplicates."""
        if not offsets:
            return True
        owned = self.consumer.assignment()
        payload = {
            tp: OffsetAndMetadata(off + 1, "", -1) for tp, off in offsets.items() if tp in owned
        }
        if not payload:
            return False
        try:
            self.consumer.commit(payload)
            return True
        except (CommitFailedError, KafkaError) as exc:
            log.warning("commit failed (%s); those messages will be loaded again, harmlessly", exc)
            return False

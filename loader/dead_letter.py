"""Step 5: messages that can never load go to the dead-letter topic with the reason; a run of
them longer than the bound stops the loader (a bad deploy upstream must not be silently
dead-lettered wholesale)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from loader.steps import Outgoing
from schemas import DEAD_LETTER


class TooManyInvalid(RuntimeError):
    """Stop: this many messages in a row could not load."""


def letter(raw: bytes | None, reason: str, topic: str, partition: int, offset: int) -> bytes:
    data = raw or b""
    try:
        payload, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(data).decode(), "base64"
    return orjson.dumps(
        {
            "schema": DEAD_LETTER,
            "stage": "loader",
            "reason": reason,
            "payload": payload,
            "payload_encoding": encoding,
            "failed_at": datetime.now(UTC).isoformat(),
            "topic": topic,
            "partition": partition,
            "offset": offset,
        }
    )


class DeadLetters:
    """Sends dead letters through ``producer`` (a KafkaProducer) and guards the invalid run.

    As step 5 it sends the rows the writer found poison (each as the row ClickHouse was asked
    to take, by ``columns``, from ``source_topic``) and waits until every letter is acknowledged.
    """

    name = "dead-letter"

    def __init__(
        self,
        producer: Any,
        topic: str,
        max_run: int,
        columns: Sequence[str] = (),
        source_topic: str = "",
    ) -> None:
        self.producer = producer
        self.columns = tuple(columns)
        self.source_topic = source_topic
        self.topic = topic
        self.max_run = max_run
        self.run = 0
        self.sent = 0
        self._pending: list[Any] = []

    def send(self, raw: bytes | None, reason: str, topic: str, partition: int, offset: int) -> None:
        self._pending.append(
            self.producer.send(self.topic, value=letter(raw, reason, topic, partition, offset))
        )
        self.sent += 1
        self.run += 1
        if self.run > self.max_run:
            raise TooManyInvalid(
                f"{self.run} messages in a row could not load (last: {reason}); stopping so they "
                f"are not all dead-lettered. Fix the cause, or raise JOURNEY_LOADER_MAX_INVALID_RUN."
            )

    def __call__(self, outgoing: Outgoing) -> None:
        for index, reason in outgoing.poison:
            row = orjson.dumps(dict(zip(self.columns, outgoing.rows[index], strict=True)))
            self.send(row, reason, self.source_topic, -1, -1)
        self.flush()

    def valid(self) -> None:
        self.run = 0

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every dead letter is acknowledged: only then may their offsets commit."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.get(timeout=timeout)

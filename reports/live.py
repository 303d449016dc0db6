"""The latest events the collectors accepted and the dead letters beside them, read from Kafka
as they pass (as Segment's debugger and Snowplow Micro show them): what `journey tail` follows
and the dashboard's live pane shows. Nothing is committed: reading here never moves the
loaders' offsets.

An accepted event is shown as the loader will store it, a dead letter with the stage that
refused it and the reason. A bot (collector.agent) is marked, since every report leaves it out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from core.kafka import connection_config
from core.settings import Settings
from schemas import EVENT_BATCHES

EXCERPT = 300  # characters of a dead letter's payload shown


@dataclass(frozen=True)
class Seen:
    """One accepted event or dead letter, as a line of the tail."""

    kind: str  # event or dead_letter
    at: str  # when Kafka took it, ISO 8601
    type: str = ""
    event: str = ""
    person: str = ""  # the user id, else the anonymous id
    source: str = ""  # the write key's source
    device: str = ""  # desktop, mobile... or bot
    stage: str = ""  # a dead letter's: collector or loader
    reason: str = ""
    payload: str = ""  # a dead letter's, cut to EXCERPT characters

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line of `journey tail`."""
        if self.kind == "dead_letter":
            return f"{self.at}  refused  {self.stage}: {self.reason}  {self.payload}"
        name = f" {self.event!r}" if self.event else ""
        bot = "  (bot: left out of reports unless asked)" if self.device == "bot" else ""
        return (
            f"{self.at}  accepted {self.type}{name}  person={self.person}  "
            f"source={self.source}  device={self.device or '-'}{bot}"
        )


def decode(topic_kind: str, value: bytes, timestamp_ms: int) -> list[Seen]:
    """The lines one Kafka message holds: an event batch's events, or one dead letter."""
    at = datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError:
        return [
            Seen("dead_letter" if topic_kind == "dead_letter" else "event", at, reason="not JSON")
        ]
    if not isinstance(message, dict):
        return []
    if topic_kind == "dead_letter":
        return [
            Seen(
                "dead_letter",
                at,
                source=str(message.get("source", "")),
                stage=str(message.get("stage", "")),
                reason=str(message.get("reason", "")),
                payload=str(message.get("payload", ""))[:EXCERPT],
            )
        ]
    events = message.get("events") if message.get("schema") in EVENT_BATCHES else [message]
    return [
        Seen(
            "event",
            at,
            type=str(e.get("type", "")),
            event=str(e.get("event", "")),
            person=str(e.get("user_id") or e.get("anonymous_id") or ""),
            source=str(e.get("source", "")),
            device=str(e.get("device_type", "")),
        )
        for e in events or []
        if isinstance(e, dict)
    ]


class Tail:
    """A reader of the events and dead-letter topics, every partition assigned (no group)."""

    def __init__(self, settings: Settings, timeout_ms: int = 10_000) -> None:
        self.kinds = {settings.events_topic: "event", settings.dead_letter_topic: "dead_letter"}
        self.consumer = KafkaConsumer(
            **connection_config(settings),
            client_id="journey-tail",
            enable_auto_commit=False,
            request_timeout_ms=max(timeout_ms, 5000),
        )
        partitions = []
        for topic in self.kinds:
            numbers = self.consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, n) for n in sorted(numbers)]
        self.partitions = partitions
        self.consumer.assign(partitions)

    def rewind(self, last: int) -> None:
        """Start ``last`` messages before the end of each partition (0: at the end)."""
        ends = self.consumer.end_offsets(self.partitions)
        for tp in self.partitions:
            self.consumer.seek(tp, max(0, ends[tp] - last))

    def read(self, wait_ms: int) -> list[tuple[int, Seen]]:
        """What arrived within ``wait_ms``, oldest first, with Kafka's timestamps (ms)."""
        found: list[tuple[int, Seen]] = []
        for tp, records in self.consumer.poll(timeout_ms=wait_ms).items():
            kind = self.kinds[tp.topic]
            found += [(r.timestamp, s) for r in records for s in decode(kind, r.value, r.timestamp)]
        found.sort(key=lambda pair: pair[0])
        return found

    def close(self) -> None:
        self.consumer.close()


def latest(settings: Settings, limit: int = 50) -> list[Seen]:
    """The newest ``limit`` lines, newest first (the dashboard's live pane)."""
    tail = Tail(settings)
    try:
        tail.rewind(limit)
        found: list[tuple[int, Seen]] = []
        deadline = time.monotonic() + 2.0
        ends = tail.consumer.end_offsets(tail.partitions)
        while time.monotonic() < deadline:
            found += tail.read(200)
            if all(tail.consumer.position(tp) >= ends[tp] for tp in tail.partitions):
                break
    finally:
        tail.close()
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [seen for _, seen in found[:limit]]


def follow(settings: Settings, last: int = 0, stop: Any = None) -> Iterator[Seen]:
    """Every line from ``last`` messages before each partition's end on, as it arrives, until
    ``stop()`` says so (a threading.Event's ``is_set``; None: for ever)."""
    tail = Tail(settings)
    try:
        tail.rewind(last)
        while stop is None or not stop():
            yield from (seen for _, seen in tail.read(500))
    finally:
        tail.close()

"""Pack accepted events into Kafka messages: one per visitor per request (chunked), as Snowplow's
collector writes one record per request. kafka-python spends ~80 µs producing and ~130 µs
consuming each message whatever its size, so per-event messages would cap both the collector and
the loader far below what a batch of events costs to enrich or insert. Keyed by visitor, a
visitor's events keep their order on one partition."""

from __future__ import annotations

from collections.abc import Iterator

from collector.spool import Record
from schemas import EVENT, EVENT_BATCH

MAX_MESSAGE_BYTES = 512 * 1024  # well under Kafka's default 1 MB message.max.bytes
# The collector vouches for its events (collector.enrich builds each from a validated request
# within journey/event's limits), so the loader need not validate each again (loader.decode).
_HEAD = (
    b'{"schema":"' + EVENT_BATCH.encode() + b'","valid_against":"' + EVENT.encode() + b'",'
    b'"events":['
)
_TAIL = b"]}"


def pack(topic: str, events_by_key: dict[bytes, list[bytes]]) -> Iterator[Record]:
    """``journey/event_batch`` messages for each key's encoded events, in their order."""
    for key, events in events_by_key.items():
        chunk: list[bytes] = []
        size = len(_HEAD) + len(_TAIL)
        for event in events:
            if chunk and size + len(event) + 1 > MAX_MESSAGE_BYTES:
                yield Record(topic, key, _HEAD + b",".join(chunk) + _TAIL)
                chunk, size = [], len(_HEAD) + len(_TAIL)
            chunk.append(event)
            size += len(event) + 1
        if chunk:
            yield Record(topic, key, _HEAD + b",".join(chunk) + _TAIL)

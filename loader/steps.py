"""The loader's steps and the one contract the last four share.

    decode → batch → suppress → write → dead-letter → commit

``decode`` (loader.decode) turns one Kafka message into rows, and ``batch`` (loader.batch)
gathers them with their offsets. When the batch is ready it becomes an ``Outgoing`` and passes
through the other steps in that order: each is a ``Step``, called with the outgoing batch, doing
its one thing to it and noting what it did there (rows left out, rows refused, whether the
offsets were committed). A step that raises stops the ones after it, so no offset is committed
for rows that were not written and whose dead letters were not acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import TopicPartition


@dataclass
class Outgoing:
    """A batch on its way out of the loader."""

    rows: list[tuple[Any, ...]]
    offsets: dict[TopicPartition, int]  # the last offset read of each partition
    suppressed: int = 0  # rows left out: their person was erased (loader.suppress)
    poison: list[tuple[int, str]] = field(default_factory=list)  # (row index, why) refused
    committed: bool = False


class Step(Protocol):
    """One step after batching: ``name`` for logs and tests, and the step itself."""

    name: str

    def __call__(self, outgoing: Outgoing) -> None: ...

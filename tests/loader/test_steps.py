"""Loader steps alone, each with a fake next step: batching, bisecting, commit-last order."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from kafka import TopicPartition

import schemas
from loader.batch import Batch
from loader.commit import Committer
from loader.dead_letter import DeadLetters, TooManyInvalid, letter
from loader.write import Writer, is_data_error
from storage.store import StoreUnavailable

TP = TopicPartition("events", 0)


class DataError(Exception):
    code = 53  # TYPE_MISMATCH


@dataclass
class FakeStore:
    database: str = "db"
    poison: set[str] = field(default_factory=set)
    down_for: int = 0
    inserted: list[tuple[Any, ...]] = field(default_factory=list)
    calls: int = 0

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.calls += 1
        if self.down_for:
            self.down_for -= 1
            raise StoreUnavailable("connection refused")
        if any(r[0] in self.poison for r in rows):
            raise DataError("Code: 53. Type mismatch")
        self.inserted.extend(tuple(r) for r in rows)

    def insert_columns(
        self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]
    ) -> None:
        self.insert(table, columns, list(zip(*data, strict=True)))

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        assert "suppressed_ids" in sql  # the only read a loader makes: nobody was erased here
        return []


def rows(*ids: str) -> list[tuple[Any, ...]]:
    return [(i, "x", 0) for i in ids]


def test_batch_drops_repeated_event_ids_but_keeps_their_offsets() -> None:
    batch = Batch()
    for offset, message_rows in enumerate([rows("a"), rows("b"), rows("a")]):
        batch.add(message_rows, TP, offset)
    batch.skip(TP, 3)
    assert [r[0] for r in batch.rows] == ["a", "b"]
    assert batch.offsets == {TP: 3}
    assert batch.ready(max_rows=2, max_seconds=60)
    assert not Batch().ready(1, 0)


def test_writer_stamps_loaded_at_and_retries_while_the_store_is_down() -> None:
    store = FakeStore(down_for=3)
    waits: list[float] = []
    assert (
        Writer(store, "events", ["id", "x", "loaded_at"], wait=waits.append).write(rows("a", "b"))
        == []
    )
    assert [r[0] for r in store.inserted] == ["a", "b"]
    assert all(r[2] > 0 for r in store.inserted)
    assert waits == [0.5, 1.0, 2.0]


def test_writer_bisects_to_the_poison_rows() -> None:
    store = FakeStore(poison={"c", "f"})
    bad = Writer(store, "events", ["id", "x", "loaded_at"]).write(rows(*"abcdefgh"))
    assert [i for i, _ in bad] == [2, 5]
    assert "refused" in bad[0][1]
    assert sorted(r[0] for r in store.inserted) == list("abdegh")


class MemoryRefused(Exception):
    code = 241  # MEMORY_LIMIT_EXCEEDED


@dataclass
class SmallServer(FakeStore):
    """Refuses for memory any insert holding ``huge`` or more than ``most`` rows, and a
    ``short`` row for its first two tries (a moment of pressure)."""

    huge: str = ""
    most: int = 4
    short: str = ""
    tried_short: int = 0

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.calls += 1
        ids = {r[0] for r in rows}
        if self.short in ids:
            self.tried_short += 1
        if (
            self.huge in ids
            or len(rows) > self.most
            or (self.short in ids and self.tried_short < 3)
        ):
            raise MemoryRefused("Code: 241. Memory limit (total) exceeded")
        self.inserted.extend(tuple(r) for r in rows)


def test_a_batch_refused_for_memory_is_halved_and_a_row_it_cannot_hold_dead_lettered() -> None:
    """One enormous event once made the loader insert the same batch again for ever, refused for
    memory each time, and nothing after it loaded: the batch is halved, the row that still
    cannot be held is handed back with the reason, a row refused for a moment is retried."""
    store = SmallServer(huge="c", short="f")
    waits: list[float] = []
    writer = Writer(store, "events", ["id", "x", "loaded_at"], wait=waits.append)
    bad = writer.write(rows(*"abcdefgh"))
    assert [i for i, _ in bad] == [2] and "Memory limit" in bad[0][1]
    assert sorted(r[0] for r in store.inserted) == list("abdefgh")
    assert store.tried_short == 3  # f: refused in two inserts for a moment, then taken alone
    assert len(waits) == 2  # c: tried MEMORY_TRIES times alone before it was handed back


def test_writer_abandons_uncommitted_when_stopping_mid_outage() -> None:
    store = FakeStore(down_for=100)
    writer = Writer(
        store, "events", ["id", "x", "loaded_at"], wait=lambda s: None, stopping=lambda: True
    )
    with pytest.raises(StoreUnavailable, match="uncommitted"):
        writer.write(rows("a"))


@pytest.mark.parametrize(
    ("exc", "data"),
    [
        (DataError(), True),
        (TypeError("bad"), True),
        (RuntimeError("Code: 60. Unknown table"), False),
        (RuntimeError("Code: 27. Cannot parse input"), True),
        (StoreUnavailable("down"), False),
    ],
)
def test_data_errors_are_told_from_world_errors(exc: Exception, data: bool) -> None:
    assert is_data_error(exc) is data


class FakeFuture:
    def get(self, timeout: float) -> None:
        pass


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def send(self, topic: str, value: bytes) -> FakeFuture:
        self.sent.append((topic, value))
        return FakeFuture()


def test_dead_letters_carry_the_reason_and_the_run_is_bounded() -> None:
    producer = FakeProducer()
    dlq = DeadLetters(producer, "dlq", max_run=2)
    dlq.send(b"\xff\xfe", "not JSON", "events", 0, 7)
    dlq.valid()
    dlq.send(b"{}", "bad", "events", 0, 8)
    dlq.send(b"{}", "bad", "events", 0, 9)
    with pytest.raises(TooManyInvalid, match="3 messages in a row"):
        dlq.send(b"{}", "bad", "events", 0, 10)
    first = orjson.loads(producer.sent[0][1])
    schemas.validate(schemas.DEAD_LETTER, first)
    assert (first["payload_encoding"], first["offset"], first["reason"]) == (
        "base64",
        7,
        "not JSON",
    )
    assert orjson.loads(letter(b"{}", "r", "t", 1, 2))["payload"] == "{}"


@dataclass
class FakeConsumer:
    owned: set[TopicPartition]
    commits: list[dict[TopicPartition, Any]] = field(default_factory=list)

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append(offsets)


def test_commit_is_offset_plus_one_and_only_for_owned_partitions() -> None:
    other = TopicPartition("events", 1)
    consumer = FakeConsumer(owned={TP})
    assert Committer(consumer).commit({TP: 41, other: 9})
    assert {tp: m.offset for tp, m in consumer.commits[0].items()} == {TP: 42}


def test_flush_writes_then_dead_letters_then_commits() -> None:
    """The order that makes at-least-once safe: nothing is committed before it is stored."""
    from core.settings import Settings
    from loader.consumer import Loader
    from loader.decode import COLUMNS, decode

    order: list[str] = []
    store = FakeStore(poison={"bad"})
    original_insert = store.insert

    def insert(table: str, columns: Sequence[str], batch_rows: Sequence[Sequence[Any]]) -> None:
        original_insert(table, columns, batch_rows)
        order.append(f"insert {len(batch_rows)}")

    store.insert = insert  # type: ignore[method-assign]
    consumer = FakeConsumer(owned={TP})
    consumer.pause = lambda *a: None  # type: ignore[attr-defined]
    consumer.resume = lambda *a: None  # type: ignore[attr-defined]
    consumer.paused = lambda: set()  # type: ignore[attr-defined]
    original_commit = consumer.commit
    consumer.commit = lambda offsets: (order.append("commit"), original_commit(offsets))  # type: ignore[method-assign]
    producer = FakeProducer()
    loader = Loader(
        Settings(kafka_bootstrap_servers=("x:1",)), store, consumer=consumer, producer=producer
    )  # type: ignore[arg-type]
    loader.dead_letters.flush = lambda timeout=30.0: order.append("dead letters acknowledged")  # type: ignore[method-assign]
    example = dict(schemas.examples(schemas.EVENT))["valid_track.json"]
    for offset, event_id in enumerate(["a", "bad", "c"]):
        loader.batch.add(decode(orjson.dumps({**example, "event_id": event_id})).rows, TP, offset)
    loader.flush()
    assert order[-2:] == ["dead letters acknowledged", "commit"]
    assert order.index("commit") > max(i for i, o in enumerate(order) if o.startswith("insert"))
    assert {tp: m.offset for tp, m in consumer.commits[0].items()} == {TP: 3}
    letter_sent = orjson.loads(producer.sent[0][1])
    assert orjson.loads(letter_sent["payload"])["event_id"] == "bad"  # the refused row, by column
    assert set(orjson.loads(letter_sent["payload"])) == set(COLUMNS)
    assert loader.stats.rows_written == 2
    assert [step.name for step in loader.steps()] == ["suppress", "write", "dead-letter", "commit"]


def test_the_suppress_step_leaves_out_the_erased_and_says_how_many() -> None:
    from loader.steps import Outgoing
    from loader.suppress import Suppress
    from privacy.erasure import digest
    from privacy.suppression import Suppression

    suppression = Suppression(FakeStore(), 0, 1)  # type: ignore[arg-type]
    suppression.refresh()
    suppression.digests = {digest("erased")}
    outgoing = Outgoing([("erased", ""), ("kept", ""), ("x", "erased")], {TP: 2})
    Suppress(suppression, wait=lambda s: None, stopping=lambda: False)(outgoing)
    assert outgoing.rows == [("kept", "")] and outgoing.suppressed == 2


class FlakyConsumer:
    """A consumer whose brokers are unreachable for the first polls (kafka-python raises that
    out of poll() while it looks for the group's coordinator)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.loader: Any = None
        self.polls = 0

    def subscribe(self, topics: list[str], listener: Any) -> None:
        pass

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        from kafka.errors import KafkaConnectionError

        self.polls += 1
        if self.polls <= self.failures:
            raise KafkaConnectionError("111 ECONNREFUSED")
        self.loader.stop()
        return {}

    def assignment(self) -> set[TopicPartition]:
        return set()

    def close(self, autocommit: bool = False) -> None:
        pass


def test_the_loader_waits_out_unreachable_brokers_instead_of_stopping() -> None:
    from core.settings import Settings
    from loader.consumer import Loader

    class Producer:
        def close(self, timeout: float = 0) -> None:
            pass

    consumer = FlakyConsumer(failures=3)
    loader = Loader(Settings(), FakeStore(), consumer=consumer, producer=Producer())  # type: ignore[arg-type]
    consumer.loader = loader
    loader.run()
    assert consumer.polls == 4


def test_a_batch_spanning_many_months_is_split_by_month() -> None:
    from datetime import UTC, datetime

    from loader.write import by_months

    def at(year: int, month: int) -> tuple[int]:
        return (int(datetime(year, month, 15, tzinfo=UTC).timestamp()),)

    live = [at(2026, 11)] * 5
    assert by_months(live, 0) == [[0, 1, 2, 3, 4]]
    history = [at(2010 + i // 12, 1 + i % 12) for i in reversed(range(250))]
    groups = by_months(history, 0)
    assert [len(g) for g in groups] == [100, 100, 50]
    assert sorted(i for g in groups for i in g) == list(range(250))
    for group in groups:  # each group a run of whole months, oldest first
        assert len({history[i][0] for i in group}) == len(group)
    assert history[groups[0][0]] == at(2010, 1)

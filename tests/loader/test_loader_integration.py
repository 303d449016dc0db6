"""The loader against a real broker and ClickHouse (server and chDB)."""

import threading
import time
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import schemas
from core.kafka import ensure_topics
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from loader.consumer import Loader
from storage import migrations
from storage.server import ServerStore
from storage.store import Store
from tests.helpers import count_events, load_until_idle, read_topic, wait_for

pytestmark = pytest.mark.integration


def event(i: int, visitor: str = "v") -> bytes:
    base = dict(dict(schemas.examples(schemas.EVENT))["valid_track.json"])
    return orjson.dumps({**base, "event_id": f"e-{i}", "anonymous_id": f"{visitor}-{i % 7}"})


def produce(settings: Settings, values: list[bytes]) -> None:
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=list(settings.kafka_bootstrap_servers), acks="all")
    for value in values:
        try:
            key = orjson.loads(value)["anonymous_id"].encode()  # by visitor, as the collector does
        except (orjson.JSONDecodeError, KeyError):
            key = b"unparseable"
        producer.send(settings.events_topic, value=value, key=key)
    producer.flush()
    producer.close()


def test_loads_every_event_and_dead_letters_the_unloadable(
    kafka_settings: Settings, store: Store
) -> None:
    good = [event(i) for i in range(500)]
    bad = [b"\xff not json", orjson.dumps({"schema": schemas.EVENT, "event_id": "x"})]
    produce(kafka_settings, good[:250] + bad + good[250:] + good[:10])  # 10 repeated messages
    loader = load_until_idle(kafka_settings, store)
    assert count_events(store)[1] == 500
    assert loader.stats.dead_lettered == 2
    letters = read_topic(
        kafka_settings.kafka_bootstrap_servers[0], kafka_settings.dead_letter_topic
    )
    reasons = sorted(letter["reason"] for letter in letters)
    assert reasons[0].startswith("message must contain") and "event" in reasons[0]
    assert reasons[1].startswith("not JSON")
    assert all(
        letter["stage"] == "loader" and letter["topic"] == kafka_settings.events_topic
        for letter in letters
    )
    # offsets were committed: a new loader in the same group finds nothing to do
    again = load_until_idle(kafka_settings, store, idle=2)
    assert again.stats.messages == 0


class CrashAfterWrite(Exception):
    pass


def test_a_crash_between_insert_and_commit_counts_each_event_once(
    kafka_settings: Settings, store: Store
) -> None:
    produce(kafka_settings, [event(i) for i in range(300)])
    settings = kafka_settings.with_overrides(loader_batch_rows=100)
    migrations.apply(store)
    crashing = Loader(settings, store)

    def crash(offsets: Any) -> bool:
        raise CrashAfterWrite  # rows are in ClickHouse, offsets are not committed

    crashing.committer.commit = crash  # type: ignore[method-assign]
    with pytest.raises(CrashAfterWrite):
        crashing.run(max_idle_seconds=5)
    stored_after_crash, _ = count_events(store)
    assert stored_after_crash > 0
    again = load_until_idle(settings, store)  # a new loader re-reads the uncommitted messages
    assert again.stats.rows_written == 300  # the replay really wrote the rows again...
    stored, distinct = count_events(store)
    assert distinct == 300
    # ...though a background merge may already have collapsed some copies, and a replicated
    # table drops a block identical to one it holds (written in the same second)
    assert 300 <= stored <= 300 + stored_after_crash
    from analyzer.summary import summary

    assert summary(store).events == 300  # ...and reports still count each event once


def committed(settings: Settings) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=list(settings.kafka_bootstrap_servers),
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    try:
        total = 0
        for p in consumer.partitions_for_topic(settings.events_topic) or []:
            total += consumer.committed(TopicPartition(settings.events_topic, p)) or 0
        return total
    finally:
        consumer.close()


def test_clickhouse_down_means_retry_commit_nothing_lose_nothing(
    kafka_settings: Settings, tmp_path: Any
) -> None:
    with LocalClickHouse(tmp_path / "ch") as server:
        store = ServerStore(parse_clickhouse_url(server.url))
        migrations.apply(store)
        produce(kafka_settings, [event(i) for i in range(200)])
        server.stop()
        loader = Loader(kafka_settings, store)
        thread = threading.Thread(target=loader.run, daemon=True)
        thread.start()
        time.sleep(6)  # the loader has read the messages and keeps failing to insert
        assert loader.stats.messages == 200 and loader.stats.rows_written == 0
        assert committed(kafka_settings) == 0
        server.start()
        wait_for(
            lambda: loader.stats.commits > 0 and committed(kafka_settings) == 200, 60, "catch-up"
        )
        loader.stop()
        thread.join(20)
        assert count_events(store)[1] == 200


@pytest.mark.engines("server", "embedded")  # Kafka's group; writes to the cluster above
def test_two_loaders_in_one_group_share_the_partitions(
    kafka_settings: Settings, store: Store
) -> None:
    ensure_topics(kafka_settings)
    migrations.apply(store)
    loaders = [Loader(kafka_settings, store) for _ in range(2)]
    # Idle time counts from the start: long enough that neither loader gives up while the
    # group rebalances under a loaded CI machine (8 s once was not).
    threads = [threading.Thread(target=lo.run, kwargs={"max_idle_seconds": 25}) for lo in loaders]
    for t in threads:
        t.start()
    wait_for(
        lambda: all(lo.consumer.assignment() for lo in loaders),
        60,
        "both loaders to hold partitions",
    )
    produce(kafka_settings, [event(i, visitor=f"v{i % 40}") for i in range(2000)])
    for t in threads:
        t.join(120)
    assert count_events(store)[1] == 2000
    assert all(lo.stats.messages > 0 for lo in loaders)  # both took partitions
    assert sum(lo.stats.messages for lo in loaders) >= 2000


@pytest.mark.engines("server", "embedded")  # nothing is written
def test_a_run_of_unloadable_messages_stops_the_loader(
    kafka_settings: Settings, store: Store
) -> None:
    from loader.dead_letter import TooManyInvalid

    settings = kafka_settings.with_overrides(loader_max_invalid_run=5)
    produce(settings, [event(1)] + [b"garbage %d" % i for i in range(20)])
    migrations.apply(store)
    loader = Loader(settings, store)
    with pytest.raises(TooManyInvalid, match="6 messages in a row"):
        loader.run(max_idle_seconds=5)
    assert committed(settings) == 0  # nothing past the bad run is marked done


def test_erased_people_are_not_loaded_again(kafka_settings: Settings, store: Store) -> None:
    from privacy.erasure import erase

    migrations.apply(store)
    erase(store, "user_id", "erased-user")  # nobody's events yet: only the suppression
    erase(store, "anonymous_id", "erased-device")

    def as_person(i: int, anonymous_id: str, user_id: str = "") -> bytes:
        base = orjson.loads(event(i))
        return orjson.dumps({**base, "anonymous_id": anonymous_id, "user_id": user_id})

    values = [as_person(i, "someone") for i in range(5)]
    values += [as_person(i, "erased-device") for i in range(5, 8)]
    values += [as_person(i, "new-device", "erased-user") for i in range(8, 10)]
    produce(kafka_settings, values)
    loader = load_until_idle(kafka_settings, store)
    assert loader.stats.suppressed == 5 and loader.stats.rows_written == 5
    assert count_events(store) == (5, 5)


@pytest.mark.engines("server", "embedded")  # Kafka's group; writes to the cluster above
def test_a_loader_assigned_nothing_while_partitions_go_unread_joins_again(
    kafka_settings: Settings, store: Store
) -> None:
    """kafka-python's group leader sometimes assigns a just-created topic from metadata that
    lacks it: nobody gets a partition, and it never looks again. Played here by an assignor that
    hands out nothing the first time: the loader sees it is alone with nothing and rejoins."""
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.abstract import ConsumerProtocolAssignment
    from kafka.coordinator.assignors.range import RangePartitionAssignor

    from core.kafka import consumer_config

    class NothingFirst(RangePartitionAssignor):
        calls = 0

        @classmethod
        def assign(cls, cluster, members):  # type: ignore[no-untyped-def]
            cls.calls += 1
            if cls.calls == 1:
                return {
                    m.member_id: ConsumerProtocolAssignment(cls.version, [], b"") for m in members
                }
            return super().assign(cluster, members)

    produce(kafka_settings, [event(i) for i in range(100)])
    migrations.apply(store)
    consumer = KafkaConsumer(
        **consumer_config(kafka_settings), partition_assignment_strategy=[NothingFirst]
    )
    loader = Loader(kafka_settings, store, consumer=consumer)
    thread = threading.Thread(target=loader.run, kwargs={"max_idle_seconds": 5})
    thread.start()
    thread.join(90)
    assert not thread.is_alive()
    assert NothingFirst.calls >= 2  # the second join gave the partitions out
    assert count_events(store)[1] == 100

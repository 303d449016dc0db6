"""The loader: a Kafka consumer group that runs decode → batch → suppress → write → dead-letter →
commit (loader.steps says what the steps share)."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import (
    ConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    TopicPartition,
)
from kafka.errors import KafkaError

from core import metrics
from core.kafka import connection_config, consumer_config, ensure_topics, producer_config
from core.settings import Settings
from loader.batch import Batch
from loader.commit import Committer
from loader.dead_letter import DeadLetters
from loader.decode import COLUMNS, OMITTABLE, Decoded, decode_all
from loader.steps import Outgoing, Step
from loader.suppress import Suppress
from loader.write import Writer
from privacy.suppression import Suppression
from storage import migrations
from storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass
class Stats:
    messages: int = 0
    rows_written: int = 0
    dead_lettered: int = 0
    batches: int = 0
    commits: int = 0
    suppressed: int = 0


class Loader:
    """Owns one consumer. ``run()`` until ``stop()``; steps are attributes so tests can swap one."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        consumer: KafkaConsumer | None = None,
        producer: KafkaProducer | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.consumer = consumer or KafkaConsumer(**consumer_config(settings))
        self.producer = producer or KafkaProducer(
            **{**producer_config(settings), "client_id": "journey-loader"}
        )
        self.writer = Writer(
            store,
            "events",
            COLUMNS,
            wait=self._wait_polling,
            stopping=lambda: self._stopping.is_set(),
            omit_empty=OMITTABLE,
        )
        self.dead_letters = DeadLetters(
            self.producer,
            settings.dead_letter_topic,
            settings.loader_max_invalid_run,
            COLUMNS,
            settings.events_topic,
        )
        self.committer = Committer(self.consumer)
        self.suppress = Suppress(
            Suppression(store, COLUMNS.index("anonymous_id"), COLUMNS.index("user_id")),
            wait=self._wait_polling,
            stopping=lambda: self._stopping.is_set(),
            max_backoff=self.writer.max_backoff,
        )
        self.batch = Batch()
        self.stats = Stats()
        self._stopping = threading.Event()
        self._empty_since: float | None = None  # when a rebalance left this loader nothing
        self._kafka_reachable = True
        self._lag_at = 0.0
        self._lag_partitions: set[TopicPartition] = set()

    # -- rebalance ---------------------------------------------------------------------------
    def _listener(self) -> ConsumerRebalanceListener:
        loader = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                # Runs on kafka-python's IO thread, where a blocking commit is refused. The
                # batch's rows still load; their offsets are no longer ours, so the new owner
                # reads them again and the duplicates collapse on event_id.
                loader.batch.forget(set(revoked))

            def on_partitions_assigned(self, assigned: Any) -> None:
                log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
                loader._empty_since = None if assigned else time.monotonic()

        return Listener()

    def _wait_polling(self, seconds: float) -> None:
        """Wait while staying in the group: partitions paused, poll() keeps the membership alive."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._stopping.is_set():
            self.consumer.pause(*self.consumer.assignment())
            got = self._poll(int(min(0.5, max(0.0, deadline - time.monotonic())) * 1000))
            for tp, messages in got.items():  # newly assigned partitions are not paused yet
                self.consumer.seek(tp, messages[0].offset)

    def _poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        """One poll. Brokers that cannot be reached are the world being down, not a bad message:
        kafka-python may raise that out of poll() (finding the group's coordinator); wait a
        moment and poll again, keeping the batch, as the writer does while ClickHouse is down."""
        try:
            got = dict(self.consumer.poll(timeout_ms=timeout_ms))
            self._kafka_reachable = True
            return got
        except KafkaError as exc:
            self._kafka_reachable = False
            log.warning("Kafka unreachable (%s); retrying", exc)
            self._stopping.wait(0.5)
            return {}

    def readiness(self) -> tuple[bool, str]:
        """Ready while Kafka answered the last poll and ClickHouse the last insert."""
        if not self._kafka_reachable:
            return False, "not ready: Kafka unreachable"
        if not self.writer.reachable:
            return False, "not ready: ClickHouse unreachable (the batch waits, uncommitted)"
        return True, "ready"

    def _measure_lag(self) -> None:
        """Messages not yet read, per partition held: the last offset Kafka reported for it
        (with each fetch) less this loader's position. At most every 2 seconds."""
        now = time.monotonic()
        if now - self._lag_at < 2.0:
            return
        self._lag_at = now
        gauge = metrics.loader().lag
        held = self.consumer.assignment()
        for tp in self._lag_partitions - held:  # taken away by a rebalance
            gauge.remove(tp.topic, str(tp.partition))
        self._lag_partitions = set()
        for tp in held:
            end = self.consumer.highwater(tp)
            if end is None:
                continue
            try:
                position = self.consumer.position(tp, timeout_ms=0)
            except Exception:  # noqa: BLE001 - not known yet: measured next time
                continue
            if position is not None:
                gauge.labels(tp.topic, str(tp.partition)).set(max(0, end - position))
                self._lag_partitions.add(tp)

    # -- the steps ---------------------------------------------------------------------------
    def process(self, records: dict[TopicPartition, list[Any]]) -> None:
        for tp, messages in records.items():
            metrics.loader().messages.inc(len(messages))
            self.stats.messages += len(messages)
            for message, decoded in zip(
                messages, decode_all([m.value for m in messages]), strict=True
            ):
                if not isinstance(decoded, Decoded):
                    self.dead_letters.send(
                        message.value, str(decoded), tp.topic, tp.partition, message.offset
                    )
                    self.batch.skip(tp, message.offset)
                    continue
                for raw, reason in decoded.invalid:
                    self.dead_letters.send(raw, reason, tp.topic, tp.partition, message.offset)
                if decoded.rows:
                    self.dead_letters.valid()
                self.batch.add(decoded.rows, tp, message.offset)

    def steps(self) -> list[Step]:
        """What a ready batch passes through, in order (loader.steps)."""
        return [self.suppress, self.writer, self.dead_letters, self.committer]

    def flush(self) -> None:
        """Pass the batch through the steps: suppress, write, dead-letter, commit."""
        batch, self.batch = self.batch, Batch()
        outgoing = Outgoing(batch.rows, batch.offsets)
        try:
            for step in self.steps():
                step(outgoing)
        finally:
            self.consumer.resume(*self.consumer.paused())
        written = len(outgoing.rows) - len(outgoing.poison)
        counted = metrics.loader()
        counted.suppressed.inc(outgoing.suppressed)
        counted.rows_written.inc(written)
        counted.dead_letters.inc(self.dead_letters.sent - self.stats.dead_lettered)
        counted.batches.inc()
        if outgoing.committed:
            counted.last_commit.set_to_current_time()
        self.stats.suppressed += outgoing.suppressed
        self.stats.rows_written += written
        self.stats.dead_lettered = self.dead_letters.sent
        self.stats.batches += 1
        self.stats.commits += int(outgoing.committed)

    def run(self, max_idle_seconds: float | None = None) -> Stats:
        """Consume until stop() (or until idle that long, for tests and tools)."""
        self.consumer.subscribe([self.settings.events_topic], listener=self._listener())
        idle_since = time.monotonic()
        try:
            while not self._stopping.is_set():
                records = self._poll(100)
                self._rejoin_if_assigned_nothing_wrongly()
                self._measure_lag()
                if records or not self.consumer.assignment():  # idle counts from the group join
                    idle_since = time.monotonic()
                    self.process(records)
                if self.batch.ready(
                    self.settings.loader_batch_rows, self.settings.loader_batch_seconds
                ):
                    self.flush()
                if (
                    max_idle_seconds is not None
                    and not self.batch.offsets
                    and time.monotonic() - idle_since > max_idle_seconds
                ):
                    break
            if self.batch.offsets:
                self.flush()
        except StoreUnavailable as exc:
            log.warning("%s", exc)  # stopping mid-outage: nothing committed, nothing lost
        finally:
            self.close()
        return self.stats

    def _assigned_nothing_wrongly(self) -> bool:
        """Whether this loader holds no partition although the group has no more members than
        the topic has partitions, so every member should hold one. kafka-python's group leader
        sometimes assigns a topic created a moment earlier from metadata that lacks it, gives
        everyone nothing and never looks again (2 group joins in 25 on a three-broker cluster).
        With more loaders than partitions, holding nothing is right."""
        group, topic = self.settings.consumer_group, self.settings.events_topic
        admin = KafkaAdminClient(
            **connection_config(self.settings),
            client_id="journey-loader-check",
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
        )
        try:
            members = len(admin.describe_groups([group]).get(group, {}).get("members") or [])
            described = admin.describe_topics([topic])
            partitions = len(described[0].get("partitions") or []) if described else 0
        finally:
            admin.close()
        return 0 < members <= partitions

    def _rejoin_if_assigned_nothing_wrongly(self) -> None:
        if self._empty_since is None or time.monotonic() - self._empty_since < 3:
            return
        self._empty_since = None
        try:
            wrong = self._assigned_nothing_wrongly()
        except Exception as exc:  # noqa: BLE001 - a check; the next empty assignment retries it
            log.debug("could not check the group's assignment: %s", exc)
            return
        if wrong:
            log.warning("assigned no partition while the group has enough; joining it again")
            self.consumer.unsubscribe()
            self.consumer.subscribe([self.settings.events_topic], listener=self._listener())

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.producer.close(timeout=5)


def prepare(settings: Settings, store: Store) -> None:
    """What the loader needs before it consumes: topics and an up-to-date schema."""
    ensure_topics(settings)
    migrate(store)


def migrate(store: Store) -> None:
    for migration in migrations.apply(store):
        log.info("applied migration %04d %s", migration.version, migration.name)


def fewer_collections() -> None:
    """The loader makes and drops hundreds of thousands of small objects a second (parsed
    events, rows); at Python's default threshold the cyclic collector ran every 700 of them and
    took a quarter of the decoding time. Nothing in the loop makes cycles worth collecting that
    often."""
    gc.set_threshold(100_000, 50, 100)


def run_forever(settings: Settings, open_store: Callable[[], Store]) -> Stats:
    """`journey load`: the topics first (refused credentials stop it before anything else is
    touched), then the store and its migrations; consume until SIGTERM or SIGINT."""
    ensure_topics(settings)
    store = open_store()
    migrate(store)
    loader = Loader(settings, store)
    fewer_collections()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: loader.stop())
    server = metrics.serve(settings.metrics_host, settings.loader_metrics_port, loader.readiness)
    try:
        return loader.run()
    finally:
        server.shutdown()

"""Where accepted events go: Kafka, or the spool when Kafka cannot take them.

``deliver`` returns only once every record is durable: acknowledged by Kafka (acks=all), or
fsync'd to the spool. Once Kafka fails to acknowledge, new records go to the spool too (no
request waits on a broker that is away); a background thread replays the spool, and as soon as
Kafka acknowledges a replayed segment, requests go to Kafka directly again while the rest of
the spool drains beside them. A spooled event may so reach Kafka after a later one of the same
visitor: harmless, since every event carries its time and its id (a replay collapses into the
first copy), and waiting for an empty spool kept a collector under steady traffic spooling for
as long as the traffic lasted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from kafka import KafkaProducer

from collector.spool import Record, Spool, SpoolFull
from core import metrics
from core.kafka import KafkaAuthError, ensure_topics, producer_config
from core.settings import Settings

log = logging.getLogger(__name__)


class Unavailable(RuntimeError):
    """Neither Kafka nor the spool can take the events now: answer 503 with Retry-After."""


class EventSink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spool = Spool(settings.data_dir / "spool", settings.spool_max_bytes)
        self._producer: KafkaProducer | None = None
        self._state = threading.Lock()
        self._spooling = not self.spool.is_empty()
        self._refused = False  # the spool refused the last records it was given (full)
        self._connect()  # at start-up, bounded by the bootstrap timeout; later only in the replayer
        self._stop = threading.Event()
        self._replayer = threading.Thread(
            target=self._replay_loop, name="spool-replay", daemon=True
        )
        self._replayer.start()

    @property
    def spooling(self) -> bool:
        return self._spooling

    def _connect(self) -> KafkaProducer | None:
        if self._producer is None:
            try:
                ensure_topics(self.settings)
                self._producer = KafkaProducer(**producer_config(self.settings))
            except KafkaAuthError as exc:  # events stay durable in the spool meanwhile
                log.error("%s; spooling until the credentials are mended", exc)
                return None
            except Exception as exc:  # noqa: BLE001 - any failure means "spool for now"
                log.warning("Kafka unavailable (%s); spooling", exc)
                return None
        return self._producer

    def _drop_producer(self, producer: Any) -> None:
        """Forget a producer that failed, so the next attempt reconnects and re-creates the
        topics (a restarted in-memory broker has lost them)."""
        with self._state:
            current = self._producer
            if producer is None or current is None or producer is not current:
                return
            self._producer = None
        with contextlib.suppress(Exception):  # it is being discarded anyway
            current.close(timeout=0)

    def deliver(self, records: list[Record]) -> None:
        """Make every record durable, or raise Unavailable."""
        if not records:
            return
        with self._state:
            if self._spooling:
                return self._to_spool(records)
        producer = self._producer  # never (re)connect on a request's time: the replayer does
        started = time.monotonic()
        if producer is not None and self._send_and_wait(
            producer, records, self.settings.kafka_ack_timeout_s
        ):
            metrics.collector().produce_seconds.observe(time.monotonic() - started)
            return None
        self._drop_producer(producer)
        with self._state:
            self._spooling = True
            return self._to_spool(records)

    def _to_spool(self, records: list[Record]) -> None:
        try:
            self.spool.append(records)
            self._refused = False
            metrics.collector().spooled_records.inc(len(records))
        except SpoolFull as exc:
            self._refused = True
            raise Unavailable(str(exc)) from exc
        except OSError as exc:
            raise Unavailable(f"spool write failed: {exc}") from exc

    @staticmethod
    def _send_and_wait(producer: KafkaProducer, records: list[Record], timeout: float) -> bool:
        try:
            futures = [producer.send(r.topic, key=r.key, value=r.value) for r in records]
            deadline = time.monotonic() + timeout
            for future in futures:
                future.get(timeout=max(0.001, deadline - time.monotonic()))
            return True
        except Exception as exc:  # noqa: BLE001 - unacknowledged: the caller spools them
            log.warning("Kafka did not acknowledge %d records: %s", len(records), exc)
            return False

    def _replay_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.replay_once()
            except Exception:  # noqa: BLE001 - keep replaying; the spool keeps the records
                log.exception("spool replay failed; will retry")

    def replay_once(self) -> int:
        """Send spooled segments to Kafka, oldest first; the number of records replayed."""
        if not self._spooling and self.spool.is_empty():
            return 0
        producer = self._connect()
        if producer is None:
            return 0
        self.spool.seal()
        replayed = 0
        while True:
            with self.spool.claim() as claimed:
                if claimed is None:
                    break
                path, records = claimed
                if not self._send_and_wait(producer, records, 30.0):
                    self._drop_producer(producer)
                    return replayed
                path.unlink()
                replayed += len(records)
            self._direct_again()  # Kafka acknowledged: requests need not wait for the drain
        if self.spool.is_empty():
            self._direct_again()
        return replayed

    def _direct_again(self) -> None:
        with self._state:
            if self._spooling:
                log.info("Kafka acknowledges again; sending to it directly, the spool draining")
            self._spooling = False
            self._refused = False

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._replayer.join(timeout)
        if self._producer is not None:
            self._producer.close(timeout=timeout)

    def health(self) -> dict[str, Any]:
        return {
            "kafka": self._producer is not None and not self._spooling,
            "spooled_bytes": self.spool.used_bytes(),
            "spool_refusing": self._refused,
        }

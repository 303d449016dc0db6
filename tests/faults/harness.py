"""What every fault test shares: the pipeline as processes against a Kafka cluster and a
ClickHouse server, and the exact-count check each test ends with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from analyzer.summary import summary
from core.processes import free_port
from core.settings import parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import LocalKafkaCluster
from devservices.pipeline import STEPS, Pipeline, Traffic
from reports import analyses
from reports.params import Params
from storage.server import ServerStore
from storage.store import Store, StoreUnavailable
from tests.helpers import wait_for

KEY = "fault-test-key"


@contextmanager
def pipeline(
    tmp_path: Path, broker: LocalKafkaCluster, server: LocalClickHouse, **extra: str
) -> Iterator[tuple[Pipeline, Store]]:
    suffix = uuid.uuid4().hex[:8]
    database = f"f_{suffix}"
    url = server.url_for(database)
    env = {
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "JOURNEY_CLICKHOUSE_URL": url,
        "JOURNEY_EVENTS_TOPIC": f"events-{suffix}",
        "JOURNEY_DEAD_LETTER_TOPIC": f"dead-letter-{suffix}",
        "JOURNEY_CONSUMER_GROUP": f"loader-{suffix}",
        "JOURNEY_WRITE_KEYS": f"faults:{KEY}",
        "JOURNEY_LOADER_BATCH_SECONDS": "0.5",
        "JOURNEY_KAFKA_ACK_TIMEOUT_S": "2",
        "JOURNEY_COLLECTOR_WORKERS": "2",
        "JOURNEY_LOADER_METRICS_PORT": str(free_port()),
        **extra,
    }
    running = Pipeline(env, tmp_path / "data")
    store = ServerStore(parse_clickhouse_url(url), database=database)
    try:
        yield running, store
        running.stop()
        logs = running.logs()
        assert logs and KEY not in logs  # no secret in any log line, under any fault
        secret = extra.get("JOURNEY_KAFKA_SASL_PASSWORD")
        assert not secret or secret not in logs
    finally:
        running.stop()
        store.close()


def loaded_ids(store: Store) -> set[str]:
    try:
        rows = store.execute(f"SELECT DISTINCT event_id FROM {store.database}.events")
    except StoreUnavailable:
        return set()
    except Exception as exc:  # noqa: BLE001 - the table may not exist yet
        if "doesn't exist" in str(exc) or "does not exist" in str(exc):
            return set()
        raise
    return {str(r[0]) for r in rows}


def assert_exactly_once(store: Store, traffic: Traffic, timeout: float = 120.0) -> int:
    """Wait until ClickHouse holds every acknowledged event; then nothing lost, nothing extra,
    and reports count each once. Returns the number of events."""
    sent = set(traffic.acknowledged)
    wait_for(lambda: sent <= loaded_ids(store), timeout, f"{len(sent)} events in ClickHouse")
    assert loaded_ids(store) == sent  # nothing the client was not told about... and no loss
    assert summary(store).events == len(sent)  # each once, however often it was stored
    names = analyses.event_names(store, Params.of(), None).data
    counted = {row["event"]: row["count"] for row in names}
    assert counted == dict(traffic.by_event())
    funnel = analyses.run(store, "funnel", Params.of(step=STEPS[:2])).data
    visitors = store.execute(
        f"SELECT uniqExact(anonymous_id) FROM {store.database}.events WHERE event = %(e)s",
        {"e": STEPS[0]},
    )[0][0]
    assert funnel["steps"][0]["people"] == visitors
    return len(sent)


def under_load(running: Pipeline, rate: float) -> Traffic:
    """The collector and a loader started, and a client posting ``rate`` events/s."""
    running.start("collect")
    running.start("load")
    return Traffic(running.url, KEY, rate=rate, threads=2).start()


def readiness(url: str) -> tuple[int, str]:
    """What ``url``'s /readyz answers (a process of the pipeline), or 0 if nothing does."""
    try:
        answer = requests.get(url + "/readyz", timeout=5)
    except requests.RequestException as exc:
        return 0, str(exc)
    return answer.status_code, answer.text.strip()


def loader_url(running: Pipeline) -> str:
    return f"http://127.0.0.1:{running.env['JOURNEY_LOADER_METRICS_PORT']}"


def first_events_loaded(store: Store) -> None:
    wait_for(lambda: len(loaded_ids(store)) > 200, 60, "the first events to load")

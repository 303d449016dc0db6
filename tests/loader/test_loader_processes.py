"""Several `journey load` processes in one consumer group, as production runs them: they share a
topic of many partitions, and a loader killed mid-load and another started (two rebalances
under load) lose nothing and count nothing twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analyzer.summary import summary
from core.kafka import ensure_topics
from core.settings import Settings
from devservices.clickhouse_server import LocalClickHouse
from storage import migrations
from storage.server import ServerStore
from tests.helpers import count_events, server_database, wait_for
from tests.loader.test_loader_integration import event, produce

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 6000


def test_loader_processes_share_partitions_and_survive_rebalances(
    kafka_settings: Settings, clickhouse_server: LocalClickHouse, tmp_path: Path
) -> None:
    settings = kafka_settings.with_overrides(topic_partitions=6)
    ensure_topics(settings)
    with server_database(clickhouse_server) as (store, url):
        migrations.apply(store)
        run_loaders(settings, store, url, tmp_path)


def run_loaders(settings: Settings, store: ServerStore, url: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")},
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers[0],
        "JOURNEY_KAFKA_FAST_GROUP_JOIN": "true",
        "JOURNEY_EVENTS_TOPIC": settings.events_topic,
        "JOURNEY_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
        "JOURNEY_CONSUMER_GROUP": settings.consumer_group,
        "JOURNEY_CLICKHOUSE_URL": url,
        "JOURNEY_LOADER_BATCH_SECONDS": "0.2",
        "JOURNEY_DATA_DIR": str(tmp_path),
    }

    def start(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "journey.cli", "-v", "load"],
            env=env,
            cwd=ROOT,
            stdout=open(tmp_path / f"load-{i}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )

    loaders = [start(i) for i in range(3)]
    try:

        def traffic() -> None:  # 6,000 events over about 8 s, from 300 visitors
            for chunk in range(0, EVENTS, 300):
                produce(settings, [event(i, f"v{i % 300}") for i in range(chunk, chunk + 300)])
                time.sleep(0.4)

        sender = threading.Thread(target=traffic)
        sender.start()
        wait_for(lambda: count_events(store)[1] > 600, 60, "the loaders to start loading")
        loaders[0].send_signal(signal.SIGKILL)  # mid-batch: its partitions go to the others
        loaders[0].wait(10)
        time.sleep(1.5)
        loaders.append(start(3))  # and a new one joins: another rebalance
        sender.join(120)
        wait_for(lambda: count_events(store)[1] == EVENTS, 120, "every event to be loaded")
        time.sleep(2)  # nothing more arrives: no event was doubled into a second one
        stored, distinct = count_events(store)
        assert distinct == EVENTS and stored >= EVENTS
        assert summary(store).events == EVENTS  # reports count each event once
        logs = [(tmp_path / f"load-{i}.log").read_text() for i in range(4)]
        assert all("assigned" in log for log in logs[1:]), logs  # the survivors held partitions
    finally:
        for loader in loaders:
            if loader.poll() is None:
                loader.terminate()
                loader.wait(30)

"""Every long-running process serves its metrics, liveness and readiness: the pipeline runs as
processes under load (the collector with two gunicorn workers, a loader, the analysts' API
with two workers, the alert runner) against Apache Kafka and a ClickHouse server, and scrapes
find the counters moving, the workers added up, and the consumer lag going to zero."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import MetricsServer, Sampled, exposition, serve
from core.processes import free_port, wait_for_port
from core.serving import idle_connection_closes
from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import LocalKafkaCluster
from devservices.pipeline import STEPS, Traffic
from tests.faults.harness import KEY, assert_exactly_once, pipeline
from tests.helpers import wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """Every sample of ``url``'s /metrics, by name and labels."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def test_a_sampled_gauge_is_read_when_scraped() -> None:
    level = [3.0]
    gauge = Sampled("journey_test_level", "a level read at scrape time", lambda: level[0])
    assert b"journey_test_level 3.0" in exposition(gauge)
    level[0] = 5.0
    assert b"journey_test_level 5.0" in exposition(gauge)


def test_a_second_process_on_a_taken_port_serves_on_another() -> None:
    port = free_port()
    first = serve("127.0.0.1", port, lambda: (True, "ready"))
    second = serve("127.0.0.1", port, lambda: (False, "not ready: testing"))
    try:
        assert second.server_port != port
        url = f"http://127.0.0.1:{second.server_port}"
        assert requests.get(url + "/readyz", timeout=5).status_code == 503
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
        assert requests.get(url + "/nothing", timeout=5).status_code == 404
    finally:
        first.shutdown()
        second.shutdown()


def test_idle_connections_are_closed_and_cannot_hold_every_thread() -> None:
    """500 idle connections once held 500 threads of a loader's metrics server for ever: now an
    idle one is closed after its time-out, and past the bound one is closed at once."""
    server = serve("127.0.0.1", 0, lambda: (True, "ready"), idle_seconds=0.5)
    try:
        assert idle_connection_closes("127.0.0.1", server.server_port, within=5)
        before = threading.active_count()
        idle = [socket.create_connection(("127.0.0.1", server.server_port)) for _ in range(40)]
        time.sleep(0.3)
        assert threading.active_count() - before <= MetricsServer.max_threads
        for sock in idle:
            sock.close()
        time.sleep(1)  # their threads end with their connections
        url = f"http://127.0.0.1:{server.server_port}"
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
    finally:
        server.shutdown()


@pytest.mark.integration
def test_each_process_of_a_running_pipeline_serves_its_metrics_and_status_reads_it(
    tmp_path: Path, broker: LocalKafkaCluster, clickhouse_server: LocalClickHouse
) -> None:
    loader_port, alerts_port, api_port = free_port(), free_port(), free_port()
    ports = {
        "JOURNEY_LOADER_METRICS_PORT": str(loader_port),
        "JOURNEY_ALERTS_METRICS_PORT": str(alerts_port),
        "JOURNEY_API_PORT": str(api_port),
        "JOURNEY_API_WORKERS": "2",
        "JOURNEY_LOG_FORMAT": "json",  # gunicorn's logs too
    }
    with pipeline(tmp_path, broker, clickhouse_server, **ports) as (running, store):
        running.start("collect")
        running.start("load")
        loader = f"http://127.0.0.1:{loader_port}"
        wait_for_port(loader_port, 60, "the loader's metrics")
        for url in (running.url, loader):
            assert requests.get(url + "/healthz", timeout=5).status_code == 200
        wait_for(
            lambda: requests.get(running.url + "/readyz", timeout=5).status_code == 200,
            30,
            "the collector ready",
        )

        traffic = Traffic(running.url, KEY, rate=400, batch=20).start()
        wait_for(
            lambda: total(scrape(loader), "journey_loader_rows_written_total") > 0,
            60,
            "the loader's rows counter moving under load",
        )
        moving = total(scrape(running.url), "journey_collector_events_accepted_total")
        assert moving > 0
        time.sleep(1.0)
        traffic.stop()
        sent = assert_exactly_once(store, traffic)

        collected = scrape(running.url)
        accepted = total(collected, "journey_collector_events_accepted_total")
        # two workers took the requests; one scrape adds both up
        assert accepted == sent if not traffic.retries else accepted >= sent
        assert accepted > moving
        assert total(collected, "journey_collector_requests_total", status="200") > 0
        assert not [ls for (n, ls), v in collected.items() if n.endswith("requests_total")
                    and dict(ls)["status"].startswith("5") and v]  # fmt: skip
        assert total(collected, "journey_collector_produce_seconds_count") > 0
        assert ("journey_collector_spool_bytes", ()) in collected

        wait_for(
            lambda: total(scrape(loader), "journey_loader_rows_written_total") == sent,
            60,
            "every row counted as written",
        )
        wait_for(
            lambda: (
                [v for (n, _), v in scrape(loader).items() if n == "journey_loader_consumer_lag"]
                == [0.0] * 4
            ),
            30,
            "the lag of each of the 4 partitions at zero",
        )
        loaded = scrape(loader)
        assert total(loaded, "journey_loader_messages_total") > 0
        assert total(loaded, "journey_loader_insert_seconds_count") > 0
        assert total(loaded, "journey_loader_last_commit_timestamp_seconds") > time.time() - 60
        assert requests.get(loader + "/readyz", timeout=5).status_code == 200

        api = f"http://127.0.0.1:{api_port}"
        token = subprocess.run(
            [sys.executable, "-m", "journey.cli", "tokens", "create", "metrics"],
            env=running.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        running.start("api")
        wait_for_port(api_port, 60, "the analysts' API")
        for _ in range(3):
            answer = requests.get(
                api + "/api/v1/reports/funnel",
                params={"step": list(STEPS[:2]), "format": "json"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
        served = scrape(api)
        funnel = {"endpoint": "/api/v1/reports/funnel"}
        assert total(served, "journey_api_requests_total", status="200", **funnel) == 3
        assert total(served, "journey_api_request_seconds_count", **funnel) == 3
        assert requests.get(api + "/readyz", timeout=5).status_code == 200

        rules = tmp_path / "rules.yaml"
        rules.write_text(
            "version: 1\nalerts:\n  - name: orders\n    funnel: {steps: ["
            + ", ".join(STEPS[:2])
            + "]}\n    every: 1m\n    condition: {below: 0.5}\n    channels: [{log: true}]\n"
        )
        alerts = subprocess.Popen(
            [sys.executable, "-m", "journey.cli", "alerts", "run", "--file", str(rules)],
            env=running.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(alerts_port, 60, "the alert runner's metrics")
            runner = f"http://127.0.0.1:{alerts_port}"
            wait_for(
                lambda: total(scrape(runner), "journey_alert_evaluations_total", rule="orders") > 0,
                60,
                "the rule evaluated",
            )
            assert requests.get(runner + "/readyz", timeout=5).status_code == 200
        finally:
            alerts.terminate()
            alerts.wait(30)

        # every line the collector's gunicorn and workers and the loader logged is JSON
        for name in ("collect", "load", "api"):
            lines = running.log_path(name).read_text().splitlines()
            assert lines and all(json.loads(line)["level"] for line in lines), name

        # journey status reads the same pipeline: no lag left, every row loaded, the rule seen
        found = json.loads(
            subprocess.run(
                [sys.executable, "-m", "journey.cli", "status", "--format", "json"],
                env=running.env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert "error" not in found["kafka"], found["kafka"]
        assert found["kafka"]["total"] == 0 and len(found["kafka"]["partitions"]) == 4
        assert all(p["committed"] == p["end"] for p in found["kafka"]["partitions"])
        assert found["load"]["rows"] >= sent and found["load"]["last_loaded_at"]
        assert found["pending_migrations"] == []
        assert found["spool"]["bytes"] == 0
        (rule,) = found["alerts"]
        assert rule["rule"] == "orders" and rule["last_evaluated_at"]
        assert found["segments"] == []

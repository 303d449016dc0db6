"""End-to-end latency from POST to queryable, in the production shape: `journey collect`
(gunicorn) and `journey load` as their own processes, a ClickHouse server, and the bundled
broker or Apache Kafka (bench.brokers). The sender posts a batch every 10 ms (10 events at 1,000
events/s, 50 at 5,000); a poller asks ClickHouse every 50 ms which outstanding event ids have
become queryable. ``batch_seconds`` is the loader's JOURNEY_LOADER_BATCH_SECONDS."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time

import orjson
import requests

from bench.brokers import CpuMeter, running
from bench.common import data_dir, env_for, figure, stop
from core.processes import free_port, wait_for_port
from core.settings import parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from storage import migrations
from storage.server import ServerStore

SECONDS = 20
INTERVAL = 0.01  # one request every 10 ms


def main(rate: int = 1000, broker: str = "bundled", batch_seconds: float = 1.0) -> dict[str, float]:
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    lock = threading.Lock()
    per_request = max(1, round(rate * INTERVAL))
    with running(broker) as brokers, LocalClickHouse() as server:
        port = free_port()
        env = env_for(
            {
                "JOURNEY_LOADER_BATCH_SECONDS": str(batch_seconds),
                "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": brokers.bootstrap,
                "JOURNEY_CLICKHOUSE_URL": server.url,
                "JOURNEY_DATA_DIR": data_dir(),
                "JOURNEY_WRITE_KEYS": "bench:bench-key",
                "JOURNEY_COLLECTOR_PORT": str(port),
                "JOURNEY_KAFKA_FAST_GROUP_JOIN": "true",
            }
        )
        cli = [sys.executable, "-m", "journey.cli"]
        loader = subprocess.Popen([*cli, "load"], env=env, stdout=subprocess.DEVNULL)
        collector = subprocess.Popen([*cli, "collect"], env=env)
        store = ServerStore(parse_clickhouse_url(server.url))
        migrations.apply(store)  # before the loader does, so the poller has a table to ask
        try:
            wait_for_port(port, 60, "collector")
            session = requests.Session()
            auth = {
                "Authorization": "Basic " + base64.b64encode(b"bench-key:").decode(),
                "Content-Type": "application/json",
            }
            # warm up until the loader has joined its group and loads
            warm = {
                "batch": [
                    {"type": "track", "event": "warm", "anonymousId": "w", "messageId": "warm"}
                ]
            }
            session.post(f"http://127.0.0.1:{port}/v1/batch", data=orjson.dumps(warm), headers=auth)
            deadline = time.monotonic() + 60
            while (
                time.monotonic() < deadline
                and not store.execute("SELECT count() FROM journey.events WHERE event_id = 'warm'")[
                    0
                ][0]
            ):
                time.sleep(0.2)
            stop_polling = threading.Event()

            def poll() -> None:
                while not stop_polling.is_set():
                    with lock:
                        outstanding = [k for k in sent_at if k not in seen_at][:5000]
                    if outstanding:
                        rows = store.execute(
                            "SELECT DISTINCT event_id FROM journey.events WHERE event_id IN %(ids)s",
                            {"ids": tuple(outstanding)},
                        )
                        now = time.perf_counter()
                        with lock:
                            for (event_id,) in rows:
                                seen_at.setdefault(event_id, now)
                    time.sleep(0.05)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            meter = CpuMeter(brokers).start()
            start = time.perf_counter()
            for n in range(rate * SECONDS // per_request):
                due = start + n * per_request / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                ids = [f"lat-{n}-{i}" for i in range(per_request)]
                body = {
                    "batch": [
                        {
                            "type": "track",
                            "event": "Clicked",
                            "anonymousId": f"v{n % 300}",
                            "messageId": i,
                        }
                        for i in ids
                    ]
                }
                before = time.perf_counter()
                r = session.post(
                    f"http://127.0.0.1:{port}/v1/batch", data=orjson.dumps(body), headers=auth
                )
                r.raise_for_status()
                with lock:
                    for i in ids:
                        sent_at[i] = before
            achieved = len(sent_at) / (time.perf_counter() - start)
            broker_cpu = meter.stop()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(seen_at) < len(sent_at):
                time.sleep(0.1)
            stop_polling.set()
            poller.join(5)
        finally:
            stop(collector)
            stop(loader)
    latencies = sorted(seen_at[k] - sent_at[k] for k in seen_at)
    lost = len(sent_at) - len(seen_at)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    results = {
        "rate": achieved,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "missing": lost,
    }
    print(
        f"end-to-end latency, POST to queryable ({len(sent_at):,} events in {per_request}-event "
        f"batches; loader batches every {batch_seconds:g} s), {brokers.label}; {broker_cpu}"
    )
    figure("rate achieved", achieved, "events/s")
    figure("p50", results["p50_ms"], "ms")
    figure("p95", results["p95_ms"], "ms")
    figure("p99", results["p99_ms"], "ms")
    figure("events never queryable", lost, "events")
    return results


if __name__ == "__main__":
    main()

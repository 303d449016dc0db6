"""Soak: the pipeline under a steady rate for a long time; memory of every process over time,
errors, and the exact count at the end.

    python bench/soak.py [--seconds 600] [--rate 500]

The collector (gunicorn, 2 workers) and the loader run as their own processes, with the bundled
broker and a ClickHouse server. Resident memory (a process and its children) is sampled every
10 s; "growth" is the last minute's mean against the second minute's (after warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import parse_clickhouse_url  # noqa: E402
from devservices.clickhouse_server import LocalClickHouse  # noqa: E402
from devservices.pipeline import Pipeline, Traffic, rss_bytes  # noqa: E402
from journey.broker import LocalBroker  # noqa: E402
from storage.server import ServerStore  # noqa: E402

KEY = "soak-key"
SAMPLE_S = 10.0


def main(seconds: float = 600.0, rate: float = 500.0) -> None:
    root = Path(tempfile.mkdtemp(prefix="journey-soak-"))
    with LocalBroker() as broker, LocalClickHouse(root / "ch") as server:
        url = server.url_for("soak")
        running = Pipeline(
            {
                "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                "JOURNEY_CLICKHOUSE_URL": url,
                "JOURNEY_WRITE_KEYS": f"soak:{KEY}",
                "JOURNEY_COLLECTOR_WORKERS": "2",
            },
            root / "data",
        )
        running.start("collect")
        running.start("load")
        traffic = Traffic(running.url, KEY, rate=rate, batch=20, threads=2).start()
        samples: list[tuple[float, dict[str, int]]] = []
        started = time.monotonic()
        print(f"soak: {rate:g} events/s for {seconds:g} s; MB resident every {SAMPLE_S:g} s")
        print(f"{'t(s)':>6} {'collector':>10} {'loader':>8} {'broker':>8} {'clickhouse':>11}")
        while time.monotonic() - started < seconds:
            time.sleep(SAMPLE_S)
            sample = {
                "collector": running.rss_bytes("collect"),
                "loader": running.rss_bytes("load"),
                "broker": rss_bytes(broker.process.pid) if broker.process else 0,
                "clickhouse": rss_bytes(server.process.pid) if server.process else 0,
            }
            at = time.monotonic() - started
            samples.append((at, sample))
            mb = {k: v / 2**20 for k, v in sample.items()}
            print(
                f"{at:6.0f} {mb['collector']:10.1f} {mb['loader']:8.1f} {mb['broker']:8.1f} "
                f"{mb['clickhouse']:11.1f}",
                flush=True,
            )
        traffic.stop()
        store = ServerStore(parse_clickhouse_url(url), database="soak")
        sent = set(traffic.acknowledged)
        deadline = time.monotonic() + 300
        loaded = 0
        while time.monotonic() < deadline:
            loaded = int(store.execute("SELECT uniqExact(event_id) FROM soak.events")[0][0])
            if loaded >= len(sent):
                break
            time.sleep(1)
        running.stop()
        errors = {s: n for s, n in traffic.statuses.items() if s != "200"}
        print(f"events acknowledged {len(sent)}, loaded {loaded}, lost {len(sent) - loaded}")
        print(f"answers {dict(traffic.statuses)}; errors {errors or 'none'}")
        second = [s for at, s in samples if 60 <= at < 120]
        last = [s for at, s in samples if at >= samples[-1][0] - 60]
        for name in ("collector", "loader", "broker", "clickhouse"):
            if not second or not last:
                break
            early = statistics.mean(s[name] for s in second) / 2**20
            late = statistics.mean(s[name] for s in last) / 2**20
            peak = max(s[name] for _, s in samples) / 2**20
            print(
                f"{name:>10}: minute 2 {early:7.1f} MB, last minute {late:7.1f} MB, "
                f"growth {late - early:+6.1f} MB ({(late - early) / early:+.1%}), peak {peak:.1f} MB"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    main(args.seconds, args.rate)

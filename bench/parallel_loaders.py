"""Loader throughput with 1, 2 and 4 `journey load` processes in one consumer group, on one
ClickHouse server and on a 2-shard x 2-replica cluster; and what one process costs, for the
sizing model in docs/how-to/scaling-out.md.

For each run: a fresh database and consumer group; the loaders are started and the run waits
until the group has handed out every partition (each loader logs its assignment). The loaders
are then frozen (SIGSTOP) while the events, built beforehand, are sent (about 2 s, inside the
group's session timeout), and thawed (SIGCONT): the clock runs from the thaw until every row
is in ClickHouse, so neither producing nor a group join is inside it; a rebalance inside it
would be reported. Reported per run: rows/s, the loaders' CPU seconds per million events (from
/proc), and bytes per event on disk (events compressed, on the node connected to).

    python bench/parallel_loaders.py [--events 400000] [--partitions 8] [--loaders 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import ROOT, figure
from bench.loader_throughput import PER_REQUEST, messages, send
from core.kafka import ensure_topics
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_cluster import LocalClickHouseCluster
from devservices.clickhouse_server import LocalClickHouse
from journey.broker import LocalBroker
from storage import migrations
from storage.cluster import on_cluster
from storage.server import ServerStore

CLK_TCK = os.sysconf("SC_CLK_TCK")
ASSIGNED = re.compile(r"assigned \[(.*)\]")


def cpu_seconds(pid: int) -> float:
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def assigned(log: Path) -> set[str]:
    """The partitions a loader holds now: its last assignment line."""
    found = ASSIGNED.findall(log.read_text(errors="replace")) if log.exists() else []
    return {p.strip(" '") for p in found[-1].split(",") if p.strip()} if found else set()


def assignments(log: Path) -> int:
    return len(ASSIGNED.findall(log.read_text(errors="replace"))) if log.exists() else 0


def run(
    batch: list[tuple[bytes, bytes]],
    broker: LocalBroker,
    service: LocalClickHouse | LocalClickHouseCluster,
    loaders: int,
    events: int,
    partitions: int,
    logs: Path,
) -> dict[str, float]:
    cluster = service.name if isinstance(service, LocalClickHouseCluster) else None
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_{suffix}"
    settings = Settings(
        kafka_bootstrap_servers=(broker.bootstrap,),
        kafka_fast_group_join=True,
        events_topic=f"bench-{suffix}",
        dead_letter_topic=f"bench-{suffix}-dead",
        topic_partitions=partitions,
    )
    ensure_topics(settings)
    url = service.url_for(database)
    store = ServerStore(parse_clickhouse_url(url), cluster=cluster)
    migrations.apply(store)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")},
        "PYTHONPATH": str(ROOT),
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "JOURNEY_KAFKA_FAST_GROUP_JOIN": "true",
        "JOURNEY_EVENTS_TOPIC": settings.events_topic,
        "JOURNEY_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
        "JOURNEY_CONSUMER_GROUP": f"bench-{suffix}",
        "JOURNEY_CLICKHOUSE_URL": url,
        "JOURNEY_DATA_DIR": str(logs / suffix),
        **({"JOURNEY_CLICKHOUSE_CLUSTER": cluster} if cluster else {}),
    }
    paths = [logs / f"{suffix}-load-{i}.log" for i in range(loaders)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "journey.cli", "-v", "load"],
            env=env,
            stdout=open(path, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        for path in paths
    ]
    try:
        deadline = time.monotonic() + 120
        while True:  # every partition handed out, each loader holding some
            held = [assigned(p) for p in paths]
            whole = len(set().union(*held)) == partitions == sum(len(h) for h in held)
            if all(held) and whole:  # and no partition is claimed twice
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the group did not settle: {held}")
            time.sleep(0.2)
        joins = [assignments(p) for p in paths]
        for p in procs:
            p.send_signal(signal.SIGSTOP)
        sent = time.perf_counter()
        send(settings, batch)
        produced_s = time.perf_counter() - sent
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        for p in procs:
            p.send_signal(signal.SIGCONT)
        table = f"{database}.events"
        while True:
            (n,) = store.execute(f"SELECT count() FROM {table}")[0]
            if n >= events:
                break
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {n} of {events} rows after 600 s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        out = {
            "rows_per_s": events / elapsed,
            "produce_s": produced_s,
            "loader_cpu_s_per_million": cpu / events * 1e6,
            "rebalances": sum(assignments(p) for p in paths) - sum(joins),
        }
        disk = store.execute(
            "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = %(db)s "
            "AND active AND table IN ('events', 'events_local')",
            {"db": database},
        )[0]
        out["bytes_per_event_on_node"] = float(disk[1]) / max(float(disk[0]), 1)
        return out
    finally:
        for p in procs:
            p.send_signal(signal.SIGCONT)
            p.terminate()
        for p in procs:
            p.wait(30)
        store.execute(f"DROP DATABASE IF EXISTS {database}{on_cluster(store)}")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--loaders", default="1,2,4")
    parser.add_argument("--targets", default="server,cluster")
    args = parser.parse_args()
    counts = [int(x) for x in args.loaders.split(",")]
    logs = Path(tempfile.mkdtemp(prefix="journey-bench-loaders-"))
    print(
        f"parallel loaders: {args.events:,} events in messages of {PER_REQUEST}, topic of "
        f"{args.partitions} partitions, {os.cpu_count()} cores shared by everything"
    )
    batch = messages(Settings(), args.events)
    with LocalBroker() as broker:
        for target in args.targets.split(","):
            if target == "server":
                service: LocalClickHouse | LocalClickHouseCluster = LocalClickHouse()
                name = "one ClickHouse server"
            else:
                service = LocalClickHouseCluster(shards=2, replicas=2)
                name = "cluster, 2 shards x 2 replicas"
            with service:
                for n in counts:
                    r = run(batch, broker, service, n, args.events, args.partitions, logs)
                    figure(
                        f"{name}, {n} loader{'s' if n > 1 else ''}",
                        r["rows_per_s"],
                        "rows/s",
                        f"loaders' CPU {r['loader_cpu_s_per_million']:.1f} s per million events;"
                        f" {r['bytes_per_event_on_node']:.0f} bytes/event on disk; "
                        f"{r['rebalances']} rebalances; sending took {r['produce_s']:.1f} s",
                    )


if __name__ == "__main__":
    main()

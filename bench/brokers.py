"""The two brokers the ingestion benchmarks run against, side by side: the bundled one (Tansu, one
node, memory only: `make demo`, `journey up`) and Apache Kafka (three KRaft nodes on loopback,
replication 3, min.insync.replicas 2, data on disk: what production runs). Every broker process
shares this machine's two cores with everything measured, so each figure comes with the CPU
the brokers used meanwhile, which is what carries to a deployment where they run elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devservices.kafka_cluster import LocalKafkaCluster
from journey.broker import LocalBroker

KINDS = ("bundled", "kafka")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process (all its threads) so far."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Broker:
    kind: str
    servers: tuple[str, ...]
    pids: list[int] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return ",".join(self.servers)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    @property
    def label(self) -> str:
        return (
            "bundled broker (Tansu, 1 node)"
            if self.kind == "bundled"
            else ("Apache Kafka 4.4 (3 KRaft nodes, replication 3, acks=all)")
        )


@contextmanager
def running(kind: str) -> Iterator[Broker]:
    if kind == "bundled":
        with LocalBroker() as bundled:
            assert bundled.process is not None
            yield Broker(kind, bundled.servers, [bundled.process.pid])
    elif kind == "kafka":
        with LocalKafkaCluster(fast_start=False) as cluster:
            pids = [n.process.pid for n in cluster.nodes if n.process is not None]
            yield Broker(kind, cluster.servers, pids)
    else:
        raise ValueError(f"broker must be one of {', '.join(KINDS)}, not {kind!r}")


class CpuMeter:
    """CPU the brokers used between start() and stop(), and the wall time: cores = cpu/wall."""

    def __init__(self, broker: Broker) -> None:
        import time

        self.broker = broker
        self._clock = time.perf_counter
        self.cpu = self.wall = 0.0
        self._cpu0 = self._wall0 = 0.0

    def start(self) -> CpuMeter:
        self._cpu0, self._wall0 = self.broker.cpu(), self._clock()
        return self

    def stop(self) -> str:
        self.cpu = self.broker.cpu() - self._cpu0
        self.wall = self._clock() - self._wall0
        return f"brokers used {self.cpu:.1f} CPU-s in {self.wall:.1f} s ({self.cpu / max(self.wall, 1e-9):.2f} cores)"

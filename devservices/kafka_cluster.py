"""Apache Kafka itself, as a replicated KRaft cluster on loopback: what production runs.

Three nodes, each a broker and a controller (``process.roles=broker,controller``) in its own JVM,
with data on disk under one folder, ``default.replication.factor=3`` and
``min.insync.replicas=2``. Each node listens on PLAINTEXT (clients and replication), SASL_SSL
(SCRAM-SHA-512 over TLS, with a CA and a certificate this module makes) and CONTROLLER (the
quorum). The jars come from Maven Central through ``scripts/install-kafka`` into ``.kafka/libs``
(or the folder ``KAFKA_LIBS`` names); the machine's Java 17+ runs them.

A node can be killed, stopped (SIGSTOP) and restarted from its disk, which is what the fault
tests do to it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.processes import free_port, terminate, wait_for_port
from devservices.certificates import issue

SASL_USER = "journey"
SASL_PASSWORD = "journey-dev-secret"  # a throwaway credential of a throwaway test cluster


def libs() -> Path:
    """Where the Kafka jars are; a clear error if they were never fetched."""
    folder = Path(os.environ.get("KAFKA_LIBS") or Path(__file__).parents[1] / ".kafka" / "libs")
    if not any(folder.glob("kafka_2.13-*.jar")):
        raise RuntimeError(
            f"Apache Kafka's jars are not in {folder}: run scripts/install-kafka (Java 17 and "
            "Maven), or set KAFKA_LIBS to a folder holding them"
        )
    return folder


def java() -> str:
    found = shutil.which("java")
    if not found:
        raise RuntimeError("Apache Kafka needs Java 17+ on the PATH (apt-get install default-jre)")
    return found


def cluster_id() -> str:
    """A Kafka UUID: 16 random bytes in unpadded base64url (22 characters), never starting with
    '-', which kafka-storage would read as an option (Kafka's own Uuid.randomUuid draws again
    then too; one id in 64 did, and failed two tests of one CI run)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


@dataclass
class Node:
    node_id: int
    plaintext: int
    sasl_ssl: int
    controller: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def properties(self) -> Path:
        return self.folder / "server.properties"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LocalKafkaCluster:
    """``nodes`` KRaft nodes on loopback; ``bootstrap`` for PLAINTEXT, ``sasl_bootstrap`` for
    SASL_SSL with ``SASL_USER``/``SASL_PASSWORD`` and ``ca_file``."""

    def __init__(
        self,
        nodes: int = 3,
        root: Path | None = None,
        min_insync: int = 2,
        cluster: str | None = None,
        overrides: Mapping[str, str] | None = None,
        fast_start: bool = True,
    ) -> None:
        """``cluster`` is the KRaft cluster id to format with (a new one if None);
        ``overrides`` are broker properties laid over this module's (deploy/'s, in its tests);
        ``fast_start`` trades the JIT's best code for a quicker start (tests; benchmarks turn
        it off, with a larger heap, so the brokers' CPU figures carry to a deployment)."""
        self.jvm = (
            ["-Xmx448m", "-Xms192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
            if fast_start
            else ["-Xmx1g", "-Xms1g", "-XX:+UseG1GC"]
        )
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="journey-kafka-")) if root is None else root
        self.min_insync = min(min_insync, nodes)
        self.cluster_id = cluster or cluster_id()
        self.overrides = dict(overrides or {})
        self.nodes = [
            Node(i, free_port(), free_port(), free_port(), self.root / f"node{i}")
            for i in range(1, nodes + 1)
        ]

    # --- addresses -------------------------------------------------------------------------

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{n.plaintext}" for n in self.nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(self.servers)

    @property
    def running_servers(self) -> list[str]:
        """PLAINTEXT addresses of the nodes that are up (a client bootstraps from these)."""
        return [f"127.0.0.1:{n.plaintext}" for n in self.nodes if n.running]

    @property
    def sasl_servers(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{n.sasl_ssl}" for n in self.nodes)

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalKafkaCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_certificates()
        (self.root / "log4j2.properties").write_text(LOG4J2)
        for node in self.nodes:
            node.folder.mkdir(parents=True, exist_ok=True)
            node.properties.write_text(self._properties(node))
        formats = [self._format(node) for node in self.nodes]
        for node, formatting in zip(self.nodes, formats, strict=True):
            if formatting.wait(60) != 0:
                raise RuntimeError(
                    f"formatting Kafka node {node.node_id} failed: "
                    + (node.folder / "format.log").read_text(errors="replace")[-2000:]
                )
        for node in self.nodes:
            self.start_node(node.node_id, wait=False)
        for node in self.nodes:
            self._wait_until_serving(node)
        self.wait_for_brokers(len(self.nodes))
        return self

    def _format(self, node: Node) -> subprocess.Popen[bytes]:
        log = open(node.folder / "format.log", "wb")  # noqa: SIM115 - the child owns it
        with log:
            return subprocess.Popen(
                [
                    java(),
                    "-cp",
                    f"{libs()}/*",
                    *self._log_options(node),
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.cluster_id,
                    "-c",
                    str(node.properties),
                    "--add-scram",
                    f"SCRAM-SHA-512=[name={SASL_USER},password={SASL_PASSWORD}]",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _log_options(self, node: Node) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={self.root / 'log4j2.properties'}",
            f"-Djourney.kafka.log={node.folder / 'kafka.log'}",
        ]

    def start_node(self, node_id: int, wait: bool = True) -> None:
        """Start (or restart, from its disk) one node."""
        node = self.node(node_id)
        if node.running:
            return
        with open(node.folder / "stdout.log", "ab") as out:
            node.process = subprocess.Popen(
                [
                    java(),
                    *self.jvm,
                    "-Djava.awt.headless=true",
                    *self._log_options(node),
                    "-cp",
                    f"{libs()}/*",
                    "kafka.Kafka",
                    str(node.properties),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self._wait_until_serving(node)

    def _wait_until_serving(self, node: Node) -> None:
        try:
            wait_for_port(node.plaintext, 90, f"Kafka node {node.node_id}")
        except RuntimeError:
            raise RuntimeError(
                f"Kafka node {node.node_id} did not start:\n{self.tail(node)}"
            ) from None

    def tail(self, node: Node, lines: int = 40) -> str:
        text = ""
        for name in ("stdout.log", "kafka.log"):
            with contextlib.suppress(OSError):
                text += (node.folder / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def kill_node(self, node_id: int, sig: int = signal.SIGKILL) -> None:
        """Take a node down as a lost machine would (SIGKILL) or cleanly (SIGTERM)."""
        node = self.node(node_id)
        if node.process is None:
            return
        if sig == signal.SIGTERM:
            terminate(node.process, 60)
        else:
            with contextlib.suppress(ProcessLookupError):
                node.process.send_signal(sig)
            node.process.wait(30)
        node.process = None

    def pause_node(self, node_id: int) -> None:
        """Freeze a node (SIGSTOP): its sockets stay open but it answers nothing."""
        process = self.node(node_id).process
        assert process is not None
        process.send_signal(signal.SIGSTOP)

    def resume_node(self, node_id: int) -> None:
        process = self.node(node_id).process
        assert process is not None
        process.send_signal(signal.SIGCONT)

    def wait_for_brokers(self, count: int, timeout: float = 90.0) -> None:
        """Until ``count`` brokers are registered and the cluster answers metadata."""
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.running_servers,
                    request_timeout_ms=5000,
                )
                try:
                    brokers = admin.describe_cluster()["brokers"]
                finally:
                    admin.close()
                if len(brokers) >= count:
                    return
                last = f"{len(brokers)} brokers"
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"the Kafka cluster did not get {count} brokers: {last}")

    def leader(self, topic: str, partition: int = 0) -> int:
        """The node id leading ``topic``'s partition now."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.running_servers)
        try:
            described = admin.describe_topics([topic])[0]
        finally:
            admin.close()
        for found in described["partitions"]:
            if found["partition_index"] == partition:
                return int(found["leader_id"])
        raise LookupError(f"{topic} has no partition {partition}")

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Until every partition of every topic has all its replicas in sync again (after a
        node came back), so that the next fault starts from a healthy cluster."""
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        lagging: list[str] = ["(not asked yet)"]
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # a node that is coming back may refuse
                admin = KafkaAdminClient(bootstrap_servers=self.running_servers)
                try:
                    described = admin.describe_topics()
                finally:
                    admin.close()
                lagging = [
                    f"{topic['name']}[{part['partition_index']}]"
                    for topic in described
                    for part in topic["partitions"]
                    if part["leader_id"] < 0 or set(part["isr_nodes"]) != set(part["replica_nodes"])
                ]
                if not lagging:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"partitions still under-replicated: {', '.join(lagging[:5])}")

    def stop(self) -> None:
        """Stop every node at once (one by one, the last would wait for a lost quorum)."""
        running = [n.process for n in self.nodes if n.process is not None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)  # a frozen node cannot stop
                process.terminate()
        deadline = time.monotonic() + 15
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for node in self.nodes:
            node.process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalKafkaCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration ---------------------------------------------------------------------

    def _properties(self, node: Node) -> str:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller}" for n in self.nodes)
        replicas = len(self.nodes)
        properties = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.plaintext},"
            f"SASL_SSL://127.0.0.1:{node.sasl_ssl},CONTROLLER://127.0.0.1:{node.controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.plaintext},"
            f"SASL_SSL://127.0.0.1:{node.sasl_ssl}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,"
            "CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.root / "broker.pem"),
            "log.dirs": str(node.folder / "data"),
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(self.min_insync),
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(self.min_insync),
            "num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            # a killed broker is noticed within seconds, not the default 9 s/18 s
            "broker.session.timeout.ms": "6000",
            "broker.heartbeat.interval.ms": "1000",
            "replica.lag.time.max.ms": "10000",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.replica.fetchers": "1",
            "log.segment.bytes": "67108864",
            **self.overrides,
        }
        return "".join(f"{key}={value}\n" for key, value in properties.items())

    def _write_certificates(self) -> None:
        """A CA, and a broker certificate it signs for 127.0.0.1 and localhost (PEM)."""
        issue(self.ca_file, self.root / "broker.pem", ["localhost", "127.0.0.1"])


LOG4J2 = """\
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:journey.kafka.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def main() -> None:
    """`python -m devservices.kafka_cluster`: the tests' cluster by hand, until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--root", type=Path, help="keep the nodes' data here (default: a temp dir)")
    args = parser.parse_args()
    with LocalKafkaCluster(nodes=args.nodes, root=args.root) as cluster:
        print(f"JOURNEY_KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap}")
        print(
            f"SASL_SSL: {','.join(cluster.sasl_servers)} (SCRAM-SHA-512, user {SASL_USER}, "
            f"password {SASL_PASSWORD}, CA {cluster.ca_file})"
        )
        print(f"nodes' folders, logs and server.properties: {cluster.root}; Ctrl-C stops them")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(1.0):
                pass


if __name__ == "__main__":
    main()

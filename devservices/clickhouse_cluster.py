"""A real ClickHouse cluster on loopback: Debian's ZooKeeper and several clickhouse-server
processes, as shards with replicas. Used by the tests and the benchmarks of cluster mode.

Each server gets the same ``<remote_servers>`` (every shard with its replicas, internal
replication on, so a Distributed table writes one replica per shard and ZooKeeper copies it to
the others), the ZooKeeper node, a ``distributed_ddl`` queue for ``ON CLUSTER`` statements, and
its own macros: ``{shard}``, and ``{replica}`` unique across the cluster (tables replicated to
every node share one ZooKeeper path, so their replica names must not repeat between shards).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from core.processes import free_port, terminate, wait_for_port
from devservices.clickhouse_server import LocalClickHouse

ZOOKEEPER_JARS = (
    "/etc/zookeeper/conf",
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-simple.jar",
)
ZOO_CFG = """tickTime=500
initLimit=10
syncLimit=5
dataDir={root}/data
clientPort={port}
clientPortAddress=127.0.0.1
maxClientCnxns=200
admin.enableServer=false
4lw.commands.whitelist=ruok,stat
"""


class LocalZooKeeper:
    """Debian's ``zookeeper`` package, standalone, on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalZooKeeper:
        java = shutil.which("java")
        if not java or not Path(ZOOKEEPER_JARS[1]).exists():
            raise RuntimeError(
                "ZooKeeper is not installed: run `apt-get install -y zookeeper` "
                "(scripts/install-services does it)"
            )
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.root / "zoo.cfg").write_text(ZOO_CFG.format(root=self.root, port=self.port))
        self.process = subprocess.Popen(
            [
                java,
                "-Xmx256m",
                "-Dzookeeper.log.dir=" + str(self.root),
                "-Dzookeeper.root.logger=WARN,CONSOLE",
                "-cp",
                ":".join(ZOOKEEPER_JARS),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                str(self.root / "zoo.cfg"),
            ],
            stdout=open(self.root / "zookeeper.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, 60, "zookeeper")
            self._wait_serving(60)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _wait_serving(self, timeout: float) -> None:
        """The port opens before the server serves; a ClickHouse 18 that meets it then crashes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    sock.sendall(b"stat")
                    answer = sock.recv(4096)
                if b"Mode:" in answer:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"zookeeper on 127.0.0.1:{self.port} did not serve within {timeout:.0f}s"
        )

    def stop(self) -> None:
        terminate(self.process, 20)
        self.process = None


def _remote_servers(name: str, shards: list[list[LocalClickHouse]]) -> str:
    body = "".join(
        "<shard><internal_replication>true</internal_replication>"
        + "".join(
            f"<replica><host>127.0.0.1</host><port>{node.port}</port></replica>" for node in shard
        )
        + "</shard>"
        for shard in shards
    )
    return f"<remote_servers><{name}>{body}</{name}></remote_servers>"


class LocalClickHouseCluster:
    """``shards`` x ``replicas`` clickhouse-server processes and one ZooKeeper."""

    def __init__(self, shards: int = 2, replicas: int = 2, name: str = "journey") -> None:
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix="journey-cluster-"))
        self.zookeeper = LocalZooKeeper(self.root / "zookeeper")
        self.shards = [
            [LocalClickHouse(self.root / f"s{s + 1}r{r + 1}") for r in range(replicas)]
            for s in range(shards)
        ]

    @property
    def nodes(self) -> list[LocalClickHouse]:
        return [node for shard in self.shards for node in shard]

    @property
    def url(self) -> str:
        """The first node: where the tests connect (any node would do)."""
        return self.shards[0][0].url

    def url_for(self, database: str) -> str:
        return self.shards[0][0].url_for(database)

    def _config(self, shard: int, replica: int) -> str:
        interserver = free_port()
        return (
            _remote_servers(self.name, self.shards)
            + "<zookeeper><node><host>127.0.0.1</host>"
            + f"<port>{self.zookeeper.port}</port></node>"
            + "<session_timeout_ms>10000</session_timeout_ms></zookeeper>"
            + "<distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>"
            + f"<macros><shard>{shard:02d}</shard><replica>s{shard}r{replica}</replica></macros>"
            + f"<interserver_http_port>{interserver}</interserver_http_port>"
            + "<interserver_http_host>127.0.0.1</interserver_http_host>"
        )

    def start(self) -> LocalClickHouseCluster:
        self.zookeeper.start()
        try:
            for s, shard in enumerate(self.shards, start=1):
                for r, node in enumerate(shard, start=1):
                    node.extra_config = self._config(s, r)
                    node.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def cleanup(self) -> None:
        for node in self.nodes:
            node.stop()
        self.zookeeper.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalClickHouseCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

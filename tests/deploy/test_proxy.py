"""Slow clients against the production collector (issue 28), with and without the proxy the
deploy files put in front of it.

``journey collect`` (gunicorn, gthread) runs against the test Kafka cluster; clients open
connections and send their request one byte a second. Straight at gunicorn they hold every
thread and legitimate batches time out: the attack, reproduced. Through nginx running
``deploy/proxy/nginx.conf`` as written (only its upstream and ports changed for loopback),
five times as many slow clients change nothing: every batch is answered."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from core.processes import free_port, wait_for_port
from devservices.kafka_cluster import LocalKafkaCluster
from devservices.pipeline import Pipeline
from tests.helpers import BROWSER

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEY = "proxy-test-key"
THREADS = 4  # one gunicorn worker of 4 threads: few slow clients are enough to hold it


@contextmanager
def nginx(tmp_path: Path, collector_port: int) -> Iterator[int]:
    """nginx with the deploy configuration, its upstream the collector on loopback."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed (scripts/install-services installs it)")
    tmp_path.mkdir(exist_ok=True)
    port = free_port()
    conf = (ROOT / "deploy/proxy/nginx.conf").read_text()
    conf = conf.replace("server collector:8080;", f"server 127.0.0.1:{collector_port};")
    conf = conf.replace("server api:8090;", "server 127.0.0.1:9;")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("listen 8090;", f"listen 127.0.0.1:{free_port()};")
    (tmp_path / "journey.conf").write_text(conf)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / d).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  fastcgi_temp_path {tmp_path}/fastcgi;\n"
        f"  uwsgi_temp_path {tmp_path}/uwsgi;\n  scgi_temp_path {tmp_path}/scgi;\n"
        f"  include {tmp_path}/journey.conf;\n}}\n"
    )
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, 20, "nginx")
        yield port
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[None]:
    """``count`` connections each sending a batch request one byte a second, never finishing."""
    request = b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    stop = threading.Event()
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]

    def dribble() -> None:
        for i in range(len(request)):
            if stop.wait(1.0):
                return
            for s in sockets:
                with contextlib.suppress(OSError):  # the server gave up on it, as it should
                    s.send(request[i : i + 1])

    thread = threading.Thread(target=dribble, daemon=True)
    for s in sockets:
        s.send(request[:1])
    thread.start()
    time.sleep(1.5)  # the server has taken them in
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        for s in sockets:
            s.close()


def batches_answered(port: int, count: int = 5, timeout: float = 5.0) -> int:
    """Legitimate one-event batches sent at once; how many were answered 200 in time."""

    def one(_: int) -> bool:
        body = {"batch": [{"type": "track", "event": "Proxy Test", "anonymousId": "p-1"}]}
        try:
            answer = requests.post(
                f"http://127.0.0.1:{port}/v1/batch",
                json=body,
                auth=(KEY, ""),
                headers={"User-Agent": BROWSER},
                timeout=timeout,
            )
        except requests.RequestException:
            return False
        return answer.status_code == 200

    with ThreadPoolExecutor(count) as pool:
        return sum(pool.map(one, range(count)))


def test_slow_clients_starve_gunicorn_alone_and_not_behind_the_proxy(
    tmp_path: Path, broker: LocalKafkaCluster
) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "JOURNEY_EVENTS_TOPIC": f"events-{suffix}",
        "JOURNEY_DEAD_LETTER_TOPIC": f"dead-letter-{suffix}",
        "JOURNEY_WRITE_KEYS": f"proxy:{KEY}",
        "JOURNEY_COLLECTOR_WORKERS": "1",
        "JOURNEY_COLLECTOR_THREADS": str(THREADS),
        "JOURNEY_TRUSTED_PROXIES": "1",
    }
    running = Pipeline(env, tmp_path / "data")
    try:
        running.start("collect")
        assert batches_answered(running.port) == 5  # nobody attacking: all answered
        with slow_clients(running.port, 2 * THREADS):
            assert batches_answered(running.port) == 0  # the attack, reproduced
        with nginx(tmp_path / "nginx", running.port) as proxy, slow_clients(proxy, 10 * THREADS):
            assert batches_answered(proxy) == 5
    finally:
        running.stop()

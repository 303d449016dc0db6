"""Write keys and analysts' tokens are the deployment's, not a machine's: two collectors and two
API processes (each under gunicorn with two workers, each with its own data folder, as on two
hosts) share one ClickHouse server. A key or token created or revoked from either host's shell
counts on every process within the stated bound."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collector.keys import REFRESH_SECONDS as KEYS_BOUND
from core.processes import free_port, wait_for_port
from devservices.clickhouse_server import LocalClickHouse
from devservices.kafka_cluster import LocalKafkaCluster
from reports.tokens import REFRESH_SECONDS as TOKENS_BOUND
from tests.helpers import post, server_database, wait_for

pytestmark = pytest.mark.integration

EVENT = {"batch": [{"type": "track", "event": "Signed Up", "anonymousId": "a1"}]}


class Hosts:
    """Two 'hosts': a data folder each, a collector and an API process each."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.collectors: list[str] = []
        self.apis: list[str] = []

    def host_env(self, host: int, **extra: str) -> dict[str, str]:
        return {**self.env, "JOURNEY_DATA_DIR": str(self.root / f"host{host}"), **extra}

    def start(self) -> None:
        for host in (1, 2):
            for command, urls, var in (
                ("collect", self.collectors, "JOURNEY_COLLECTOR_PORT"),
                ("api", self.apis, "JOURNEY_API_PORT"),
            ):
                port = free_port()
                log = open(self.root / f"{command}{host}.log", "wb")  # noqa: SIM115
                with log:
                    self.processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "journey.cli", command],
                            env=self.host_env(host, **{var: str(port)}),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
                urls.append(f"http://127.0.0.1:{port}")
                wait_for_port(port, 60, f"journey {command} on host {host}")

    def cli(self, host: int, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "journey.cli", *args],
            env=self.host_env(host),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def hosts(
    tmp_path: Path, clickhouse_server: LocalClickHouse, broker: LocalKafkaCluster
) -> Iterator[Hosts]:
    with server_database(clickhouse_server) as (_, url):
        suffix = tmp_path.name[-8:].replace("-", "_")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")},
            "JOURNEY_CLICKHOUSE_URL": url,
            "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "JOURNEY_EVENTS_TOPIC": f"events-{suffix}",
            "JOURNEY_DEAD_LETTER_TOPIC": f"dead-letter-{suffix}",
            "JOURNEY_COLLECTOR_WORKERS": "2",
            "JOURNEY_API_WORKERS": "2",
        }
        running = Hosts(tmp_path, env)
        running.cli(1, "migrate")
        try:
            running.start()
            yield running
        finally:
            running.stop()


def everywhere(urls: list[str], ask: object, status: int) -> bool:
    """Every process answers ``status``, several times each (so every worker is asked)."""
    return all(ask(url).status_code == status for url in urls for _ in range(6))  # type: ignore[operator]


def until(predicate: object, bound: float, what: str) -> float:
    started = time.monotonic()
    wait_for(predicate, bound + 10, what)
    return time.monotonic() - started


def test_a_key_or_token_made_or_revoked_on_one_host_counts_on_every_process(
    hosts: Hosts,
) -> None:
    key = hosts.cli(1, "keys", "create", "web")
    assert hosts.cli(2, "keys", "list").count("web") == 1  # the other host's shell sees it
    accept = until(
        lambda: everywhere(hosts.collectors, lambda u: post(u, "/v1/batch", EVENT, key=key), 200),
        KEYS_BOUND,
        "both collectors to accept the new key",
    )
    hosts.cli(2, "keys", "revoke", "web")
    refuse = until(
        lambda: everywhere(hosts.collectors, lambda u: post(u, "/v1/batch", EVENT, key=key), 401),
        KEYS_BOUND,
        "both collectors to refuse the revoked key",
    )

    token = hosts.cli(2, "tokens", "create", "ana")

    def segments(url: str) -> requests.Response:
        return requests.get(
            url + "/api/v1/segments", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    allow = until(
        lambda: everywhere(hosts.apis, segments, 200), TOKENS_BOUND, "both APIs to accept"
    )
    hosts.cli(1, "tokens", "revoke", "ana")
    deny = until(lambda: everywhere(hosts.apis, segments, 401), TOKENS_BOUND, "both APIs to refuse")
    for took in (accept, refuse, allow, deny):
        assert took <= max(KEYS_BOUND, TOKENS_BOUND) + 3
    print(
        f"key accepted everywhere after {accept:.1f}s, refused after {refuse:.1f}s; token "
        f"accepted after {allow:.1f}s, refused after {deny:.1f}s (bound {KEYS_BOUND:.0f}s)"
    )

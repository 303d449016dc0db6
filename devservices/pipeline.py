"""The pipeline as separate OS processes, and a client that keeps posting events: what the fault
tests kill, stop and restart, and what the soak benchmark watches.

``Pipeline`` runs ``journey collect`` (gunicorn) and ``journey load`` as their own process
groups, so a SIGKILL takes a process and its children at once, like a machine losing them.
``Traffic`` posts batches at a steady rate from several threads and behaves like a good SDK:
a batch keeps its messageIds across retries, it retries on connection errors and 5xx after
``Retry-After``, and a batch counts as delivered only once answered 2xx.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import orjson
import requests

from core.processes import free_port, wait_for_port

STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")


def rss_bytes(pid: int) -> int:
    """Resident memory of one process now (0 if it is gone)."""
    with contextlib.suppress(OSError):
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Pipeline:
    """``journey collect`` and ``journey load`` as processes, with one environment."""

    def __init__(self, env: Mapping[str, str], data_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")},
            "JOURNEY_DATA_DIR": str(data_dir),
            "JOURNEY_COLLECTOR_PORT": str(self.port),
            "JOURNEY_KAFKA_FAST_GROUP_JOIN": "true",
            **env,
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started: Counter[str] = Counter()
        data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start ``collect`` or ``load``; the collector once it answers."""
        with open(self.log_path(name), "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "journey.cli", name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg takes its workers too
            )
        self.processes[name] = process
        self.started[name] += 1
        if name == "collect":
            wait_for_port(self.port, 60, "the collector")
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def pids(self, name: str) -> list[int]:
        """The process and its children (gunicorn's workers)."""
        process = self.processes.get(name)
        if process is None:
            return []
        found = [process.pid]
        with contextlib.suppress(OSError):
            for child in (Path("/proc") / str(process.pid) / "task").iterdir():
                children = child / "children"
                if children.exists():
                    found += [int(p) for p in children.read_text().split()]
        return sorted(set(found))

    def rss_bytes(self, name: str) -> int:
        """Resident memory of the process and its children now."""
        return sum(rss_bytes(pid) for pid in self.pids(name))

    def logs(self) -> str:
        return "\n".join(
            self.log_path(n).read_text(errors="replace")
            for n in ("collect", "load")
            if self.log_path(n).exists()
        )


class Traffic:
    """Threads posting batches of events at ``rate`` events/s in total until ``stop()``."""

    def __init__(
        self,
        url: str,
        write_key: str,
        rate: float = 200.0,
        batch: int = 20,
        threads: int = 2,
        prefix: str = "m",
        max_wait_s: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/") + "/v1/batch"
        self.auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
        self.rate = rate
        self.batch = batch
        self.prefix = prefix
        self.max_wait_s = max_wait_s
        self.acknowledged: dict[str, str] = {}  # messageId -> event name
        self.statuses: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._idle = threading.Semaphore(0)
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True, name=f"traffic-{i}")
            for i in range(threads)
        ]

    def start(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 180.0) -> None:
        """Stop sending new batches; wait until every batch begun is delivered."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if any(t.is_alive() for t in self._threads):
            raise RuntimeError(f"batches still undelivered after {timeout}s")

    def pause(self) -> None:
        """Stop sending once the batches in flight are delivered; return when they are."""
        self._go.clear()
        for _ in self._threads:
            self._idle.acquire()

    def resume(self) -> None:
        self._go.set()

    def _messages(self, thread: int, n: int, rng: random.Random) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for i in range(self.batch):
            visitor = f"v-{thread}-{rng.randrange(500)}"
            name = rng.choice(STEPS)
            out.append(
                {
                    "type": "track",
                    "event": name,
                    "anonymousId": visitor,
                    "messageId": f"{self.prefix}-{thread}-{n}-{i}",
                    "properties": {"revenue": 10} if name == STEPS[-1] else {},
                    # named as an SDK names itself: posting through python-requests for
                    # people, it is not a bot (collector.agent), and the reports count it
                    "context": {"library": {"name": "journey-test-traffic", "version": "1"}},
                }
            )
        return out

    def _run(self, thread: int) -> None:
        rng = random.Random(thread)
        session = requests.Session()
        interval = self.batch * len(self._threads) / self.rate
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            if not self._go.is_set():
                self._idle.release()
                self._go.wait()
                next_at = time.monotonic()
            messages = self._messages(thread, n, rng)
            self._deliver(session, messages)
            n += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _deliver(self, session: requests.Session, messages: list[dict[str, object]]) -> None:
        body = orjson.dumps({"batch": messages})
        headers = {"Content-Type": "application/json", "Authorization": self.auth}
        first = True
        while True:
            if not first:
                with self._lock:
                    self.retries += 1
            first = False
            try:
                answer = session.post(self.url, data=body, headers=headers, timeout=30)
            except requests.RequestException as exc:
                self._count(type(exc).__name__)
                time.sleep(0.5)
                continue
            self._count(str(answer.status_code))
            if answer.ok:
                with self._lock:
                    for m in messages:
                        self.acknowledged[str(m["messageId"])] = str(m["event"])
                return
            if answer.status_code < 500 and answer.status_code != 429:
                raise RuntimeError(f"the collector refused a good batch: {answer.text[:300]}")
            wait = float(answer.headers.get("Retry-After") or 1)
            time.sleep(min(wait, self.max_wait_s))

    def _count(self, what: str) -> None:
        with self._lock:
            self.statuses[what] += 1

    def by_event(self) -> Counter[str]:
        with self._lock:
            return Counter(self.acknowledged.values())

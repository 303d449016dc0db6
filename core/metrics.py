"""Prometheus metrics of Journey's long-running processes, and what serves them.

Each process counts what it does through the families below (made on first use, so a process
decides how they are kept before any exists); ``exposition`` renders them in the text format
Prometheus and Grafana read, for ``/metrics``. Under gunicorn's several workers
(`journey collect`, `journey api`) the master calls ``share_between_workers`` before it forks:
each worker then writes its figures to files in that directory (prometheus-client's
multi-process mode) and whichever worker answers a scrape adds up every worker's, so a scrape
shows the process, not one worker. A process without workers (the loader, the alert runner,
`journey up`) keeps them in memory and serves them with ``serve`` on a small port of its own,
beside ``/healthz`` (alive) and ``/readyz`` (able to do its work now).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.serving import BoundedThreads

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SHARED = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger(__name__)
# seconds: a produce or an insert, from a millisecond to a minute
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# seconds: a report or a segment refresh, from 10 ms to 10 minutes
DURATION = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


T = TypeVar("T")
_MAKING = threading.Lock()


def once(make: Callable[[], T]) -> Callable[[], T]:
    """``make`` run on the first call only, however many threads call at once: a family
    registered twice is an error (functools.cache would let two first calls both run)."""
    made: list[T] = []

    def get() -> T:
        if not made:
            with _MAKING:
                if not made:
                    made.append(make())
        return made[0]

    return get


def share_between_workers(directory: Path) -> None:
    """Keep every metric made from now on in files under ``directory`` (emptied first), added
    up across the processes that write there: call in gunicorn's master, before it forks."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[_SHARED] = str(directory)
    values.ValueClass = values.MultiProcessValue()


def worker_exited(pid: int) -> None:
    """A worker is gone: its live gauges stop counting (gunicorn's ``child_exit``)."""
    if os.environ.get(_SHARED):
        multiprocess.mark_process_dead(pid)


class Sampled(Collector):
    """A gauge read when scraped (the spool's size on disk, say), not kept up to date."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name = name
        self.documentation = documentation
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, self.documentation, value=self.read())


def exposition(*sampled: Collector) -> bytes:
    """Every metric of this process (of all its workers, when they share), and ``sampled``."""
    if os.environ.get(_SHARED):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if sampled:
        extra = CollectorRegistry()
        for collector in sampled:
            extra.register(collector)
        body += generate_latest(extra)
    return body


@dataclass(frozen=True)
class CollectorMetrics:
    requests: Counter
    events_accepted: Counter
    events_refused: Counter
    unavailable: Counter
    produce_seconds: Histogram
    spooled_records: Counter


@once
def collector() -> CollectorMetrics:
    return CollectorMetrics(
        requests=Counter(
            "journey_collector_requests", "HTTP requests answered", ["endpoint", "status"]
        ),
        events_accepted=Counter("journey_collector_events_accepted", "events accepted"),
        events_refused=Counter(
            "journey_collector_events_refused",
            "events refused, by reason (invalid: a schema or identity error; too_large; "
            "rate_limited; unauthorized: no valid write key)",
            ["reason"],
        ),
        unavailable=Counter(
            "journey_collector_unavailable",
            "requests answered 503: neither Kafka nor the spool could take the events",
        ),
        produce_seconds=Histogram(
            "journey_collector_produce_seconds",
            "time for Kafka to acknowledge one request's records",
            buckets=LATENCY,
        ),
        spooled_records=Counter(
            "journey_collector_spooled_records", "records written to the spool (Kafka away)"
        ),
    )


@dataclass(frozen=True)
class LoaderMetrics:
    messages: Counter
    rows_written: Counter
    batches: Counter
    insert_seconds: Histogram
    insert_retries: Counter
    dead_letters: Counter
    suppressed: Counter
    lag: Gauge
    last_commit: Gauge


@once
def loader() -> LoaderMetrics:
    return LoaderMetrics(
        messages=Counter("journey_loader_messages", "Kafka messages consumed"),
        rows_written=Counter("journey_loader_rows_written", "rows written to ClickHouse"),
        batches=Counter("journey_loader_batches", "batches written and committed"),
        insert_seconds=Histogram(
            "journey_loader_insert_seconds", "time of one ClickHouse insert", buckets=LATENCY
        ),
        insert_retries=Counter(
            "journey_loader_insert_retries",
            "inserts retried because ClickHouse could not be reached or failed",
        ),
        dead_letters=Counter("journey_loader_dead_letters", "events sent to the dead-letter topic"),
        suppressed=Counter(
            "journey_loader_suppressed", "events left out because their person was erased"
        ),
        lag=Gauge(
            "journey_loader_consumer_lag",
            "messages not yet read, per partition this loader holds",
            ["topic", "partition"],
        ),
        last_commit=Gauge(
            "journey_loader_last_commit_timestamp_seconds",
            "when this loader last committed offsets (Unix time)",
        ),
    )


@dataclass(frozen=True)
class ApiMetrics:
    requests: Counter
    seconds: Histogram


@once
def api() -> ApiMetrics:
    return ApiMetrics(
        requests=Counter(
            "journey_api_requests", "analysts' API requests answered", ["endpoint", "status"]
        ),
        seconds=Histogram(
            "journey_api_request_seconds",
            "time to answer, per endpoint (a report's kind)",
            ["endpoint"],
            buckets=DURATION,
        ),
    )


@dataclass(frozen=True)
class AlertMetrics:
    evaluations: Counter
    firings: Counter
    deliveries_failed: Counter


@once
def alerts() -> AlertMetrics:
    return AlertMetrics(
        evaluations=Counter(
            "journey_alert_evaluations", "alert rule evaluations, by outcome", ["rule", "outcome"]
        ),
        firings=Counter("journey_alert_firings", "notices of a rule firing", ["rule"]),
        deliveries_failed=Counter(
            "journey_alert_deliveries_failed",
            "notices that could not be delivered after every try",
            ["channel"],
        ),
    )


@dataclass(frozen=True)
class SegmentMetrics:
    refresh_seconds: Histogram
    members: Gauge


@once
def segments() -> SegmentMetrics:
    return SegmentMetrics(
        refresh_seconds=Histogram(
            "journey_segment_refresh_seconds",
            "time to refresh one segment",
            ["segment"],
            buckets=DURATION,
        ),
        members=Gauge(
            "journey_segment_members",
            "members at the latest refresh, per segment and group",
            ["segment"],
            multiprocess_mode="mostrecent",
        ),
    )


Readiness = Callable[[], tuple[bool, str]]


class MetricsServer(BoundedThreads, ThreadingHTTPServer):
    """A few scrapers and probes at a time; idle connections closed after the handler's
    time-out."""

    max_threads = 16
    request_queue_size = 64  # the listen backlog: connections waiting to be accepted


def serve(
    host: str,
    port: int,
    ready: Readiness,
    sampled: tuple[Collector, ...] = (),
    idle_seconds: float = 10.0,
) -> ThreadingHTTPServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (0: any free port) from a
    daemon thread; ``ready`` says whether the process can do its work now, and why not. A
    connection silent for ``idle_seconds`` is closed (a scrape takes milliseconds)."""

    class Handler(BaseHTTPRequestHandler):
        timeout = idle_seconds

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, exposition(*sampled), CONTENT_TYPE)
            elif path == "/healthz":
                self._answer(200, b"ok\n")
            elif path == "/readyz":
                ok, why = ready()
                self._answer(200 if ok else 503, (why or "ready").encode() + b"\n")
            else:
                self._answer(404, b"not found: /metrics, /healthz or /readyz\n")

        def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every 15 s are not news

    try:
        server = MetricsServer((host, port), Handler)
    except OSError as exc:  # several loaders on one host: the second takes any free port
        if not port:
            raise
        log.warning("port %d is taken (%s); serving metrics on a free port instead", port, exc)
        server = MetricsServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics, liveness and readiness on http://%s:%d", host, server.server_port)
    return server

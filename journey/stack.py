"""The whole pipeline in one process, for `journey up` and `journey demo`: the bundled broker
(unless one is configured), the collector on a threaded HTTP server (which also serves the
analysts' API and dashboard), the loader in a thread, the
scheduler (segment refreshes and alert rules that are due) in another, and the store (embedded chDB unless a
server is configured), which this process also queries."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from collector.app import create_app
from collector.keys import open_keys
from collector.personalize import PublicSegments
from collector.sink import EventSink
from core.processes import free_port
from core.progress import Report, silent
from core.serving import BoundedThreads
from core.settings import Settings
from journey import local_api
from journey.broker import LocalBroker
from journey.scheduler import Scheduler, alert_checks, data_expiry, segment_refreshes
from loader.consumer import Loader, prepare
from reports import api as reports_api
from reports.tokens import open_tokens
from storage import connect
from storage.store import Store

log = logging.getLogger(__name__)


# A connection that sends nothing for this long is closed, a half-sent request included.
REQUEST_TIMEOUT_S = 30.0


class _TimedHandler(WSGIRequestHandler):
    """werkzeug's handler with a socket time-out: without one, a client that stops half-way
    through its request holds its thread (and its connection) forever."""

    timeout = REQUEST_TIMEOUT_S


class _StackServer(BoundedThreads, ThreadedWSGIServer):
    """A thread per connection, at most this many at once (one more is closed at once)."""

    max_threads = 128


def http_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """The local stack's HTTP server: a thread per connection, each with a time-out, and a
    bound on how many connections hold a thread."""
    return _StackServer(host, port, app, _TimedHandler)


class PortTaken(RuntimeError):
    """The collector's port is in use: the message names the setting to change."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"JOURNEY_COLLECTOR_PORT: {host}:{port} is in use by another program (another "
            "`journey up`?); stop it, or set JOURNEY_COLLECTOR_PORT to a free port (0 picks one)"
        )


def check_port(host: str, port: int) -> None:
    """Raise PortTaken unless ``host:port`` can be bound now (checked before anything starts,
    so a taken port stops nothing half-started)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortTaken(host, port) from None


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker: LocalBroker | None = None
        self.store: Store | None = None
        self.loader: Loader | None = None
        self.sink: EventSink | None = None
        self.server: BaseWSGIServer | None = None
        self.scheduler: Scheduler | None = None
        self.public_segments: PublicSegments | None = None
        self._threads: list[threading.Thread] = []

    @property
    def collector_url(self) -> str:
        assert self.server is not None
        return f"http://{self.settings.collector_host}:{self.server.server_port}"

    def start(self) -> Stack:
        """Start every part; if one cannot start, stop those that did and raise (PortTaken
        names the setting of a port in use)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        settings = self.settings
        if settings.collector_port:
            check_port(settings.collector_host, settings.collector_port)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.kafka_bootstrap_servers:
            self.broker = LocalBroker(log_path=settings.data_dir / "broker.log").start()
            settings = replace(
                settings,
                kafka_bootstrap_servers=(self.broker.bootstrap,),
                kafka_fast_group_join=True,
            )
        if settings.collector_port == 0:
            settings = replace(settings, collector_port=free_port())
        self.settings = settings
        self.store = connect(settings)
        prepare(settings, self.store)
        self.loader = Loader(settings, self.store)
        self.sink = EventSink(settings)
        self.keys = open_keys(settings, None if settings.embedded else self.store)
        self.tokens = open_tokens(settings, None if settings.embedded else self.store)
        self.public_segments = PublicSegments(
            self.store, settings.data_dir / "personalization", settings.personalization_seconds
        ).start()
        app = create_app(
            settings, sink=self.sink, keys=self.keys, public_segments=self.public_segments
        )
        app.extensions["journey.store"] = self.store
        app.register_blueprint(local_api.bp)
        reports_api.install(app, self.store, self.tokens)
        try:
            self.server = http_server(settings.collector_host, settings.collector_port, app)
        except (OSError, SystemExit) as exc:  # werkzeug exits on EADDRINUSE, after saying so
            raise PortTaken(settings.collector_host, settings.collector_port) from exc
        jobs: list[tuple[str, Callable[[], object]]] = [
            ("loader", self.loader.run),
            ("collector", self.server.serve_forever),
        ]
        if settings.schedule_seconds > 0:
            self.scheduler = Scheduler(
                [
                    segment_refreshes(self.store),
                    alert_checks(self.store, settings),
                    data_expiry(self.store, settings),
                ],
                settings.schedule_seconds,
            )
            jobs.append(("scheduler", self.scheduler.run))
        for name, target in jobs:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def loaded_events(self) -> int:
        assert self.store is not None
        rows = self.store.execute(f"SELECT uniqExact(event_id) FROM {self.store.database}.events")
        return int(rows[0][0])

    def wait_loaded(self, expected: int, timeout: float = 120.0, progress: Report = silent) -> int:
        """Wait until ``expected`` distinct events are queryable; the number that are."""
        deadline = time.monotonic() + timeout
        loaded = self.loaded_events()
        while loaded < expected and time.monotonic() < deadline:
            progress(f"loaded {loaded:,} of {expected:,} events")
            time.sleep(0.25)
            loaded = self.loaded_events()
        return loaded

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        if self.loader is not None:
            self.loader.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.public_segments is not None:
            self.public_segments.stop()
        for thread in self._threads:
            thread.join(15)
        if self.sink is not None:
            self.sink.close()
        if self.broker is not None:
            self.broker.stop()
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

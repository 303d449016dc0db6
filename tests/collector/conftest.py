"""The whole pipeline for the collector's integration tests: the collector (restartable on its
port), a loader thread, a ClickHouse database of its own, and a test site on another origin."""

from __future__ import annotations

import functools
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from collector.app import create_app
from collector.sink import EventSink
from core.processes import free_port
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from loader.consumer import Loader, prepare
from storage.server import ServerStore
from tests.helpers import wait_for

KEY = "site-write-key"


@dataclass
class Pipeline:
    """Collector (restartable on its port), loader thread, ClickHouse database, test site."""

    settings: Settings
    store: ServerStore
    site: str
    site_dir: Path
    port: int
    app: Any = None
    server: BaseWSGIServer | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def collector(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_collector(self, app: Any) -> None:
        """Serve ``app`` on the pipeline's port. Started again on the same port, the bind can be
        refused while a connection accepted by the previous server is still open (Linux lets
        SO_REUSEADDR pass TIME_WAIT, not an open connection): try again until it has closed."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self.server = make_server("127.0.0.1", self.port, app, threaded=True)
                break
            except (OSError, SystemExit):  # werkzeug exits on EADDRINUSE, after saying so
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()

    def stop_collector(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def events(self) -> list[dict[str, Any]]:
        """Every event as reports see it: one row per event_id."""
        df = self.store.query_df(f"SELECT * FROM {self.store.database}.events LIMIT 1 BY event_id")
        return list(df.sort_values("timestamp_ms").to_dict("records"))

    def wait_events(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.events()) >= count, timeout, f"{count} events in ClickHouse")
        time.sleep(1.5)  # anything more that was going to arrive (a double) has arrived
        return self.events()


@pytest.fixture
def pipeline(
    kafka_settings: Settings, clickhouse_server: LocalClickHouse, tmp_path: Path
) -> Iterator[Pipeline]:
    settings = kafka_settings.with_overrides(write_keys={KEY: "website"}, loader_batch_seconds=0.2)
    store = ServerStore(
        parse_clickhouse_url(clickhouse_server.url), database=f"t_{uuid.uuid4().hex[:10]}"
    )
    prepare(settings, store)
    port = free_port()
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    sink = EventSink(settings)
    pipe = Pipeline(settings, store, f"http://127.0.0.1:{site.server_address[1]}", site_dir, port)
    pipe.app = create_app(settings, sink=sink)
    pipe.start_collector(pipe.app)
    loader = Loader(settings, store)
    loader_thread = threading.Thread(target=loader.run, daemon=True)
    loader_thread.start()
    yield pipe
    loader.stop()
    loader_thread.join(20)
    if pipe.server is not None:
        pipe.stop_collector()
    sink.close()
    site.shutdown()
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")

"""How fast the collector answers GET /v1/segments, and what keeping its copy current costs.

A chDB store gets ``--visitors`` published visitors (synthetic rows of ``public_segments``: one
to three segments each, over two sources), then:

* copy: the collector's cache copying the newest version into its SQLite file;
* lookup: one cache read in the process (the work of a request, without HTTP);
* HTTP: ``GET /v1/segments`` through the collector app on a threaded loopback server, one
  keep-alive client, known and unknown visitors mixed.

    python -m bench.personalization [--visitors 1000000] [--requests 5000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from collector.app import create_app
from collector.personalize import PublicSegments
from core.settings import Settings
from storage import migrations
from storage.embedded import EmbeddedStore


class NoSink:
    """Nothing is tracked here; the collector only needs somewhere to send events."""

    def deliver(self, records: list[Any]) -> None:
        pass

    def close(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {}


SEGMENTS = ["pricing_fans", "rfm/Champions", "rfm/At risk", "likely_buyers", "b2b_enterprise"]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {p(0.5):.3f} ms, p99 {p(0.99):.3f} ms, mean {statistics.fmean(ordered):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="journey-bench-personalize-"))
    store = EmbeddedStore.open(work / "chdb", "bench")
    store.execute("CREATE DATABASE IF NOT EXISTS bench")
    migrations.apply(store)
    rng = random.Random(1)
    version = int(time.time() * 1000)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(args.visitors)]
    for i in range(0, len(ids), 200_000):
        store.insert(
            "public_segments",
            ("version", "source", "anonymous_id", "segments"),
            [
                (version, "web" if j % 2 else "shop", a, sorted(rng.sample(SEGMENTS, 1 + j % 3)))
                for j, a in enumerate(ids[i : i + 200_000], start=i)
            ],
        )
    store.insert("public_segments", ("version", "source", "anonymous_id", "segments"),
                 [(version, "", "", [])])  # fmt: skip
    cache = PublicSegments(store, work / "cache")
    started = time.perf_counter()
    cache.refresh()
    copy_s = time.perf_counter() - started
    size = cache.path.stat().st_size if cache.path else 0
    print(f"visitors published: {args.visitors:,}")
    print(f"copy into the collector's cache: {copy_s:.2f} s, {size / 1e6:.0f} MB on disk")

    def source_of(j: int) -> str:
        return "web" if j % 2 else "shop"

    picks = [rng.randrange(len(ids)) for _ in range(args.requests)]
    timings = []
    for j in picks:
        t = time.perf_counter()
        found = cache.lookup(source_of(j), ids[j])
        timings.append((time.perf_counter() - t) * 1000)
        assert found, "a published visitor has segments"
    print(f"cache lookup in process: {_percentiles(timings)}")

    settings = Settings(data_dir=work / "data", write_keys={"k-web": "web", "k-shop": "shop"})
    app = create_app(settings, sink=NoSink(), public_segments=cache)

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1/segments"
    session = requests.Session()
    timings = []
    for n, j in enumerate(picks):
        known = n % 4 != 0  # a quarter of the visitors are in no public segment
        visitor = ids[j] if known else f"{rng.getrandbits(128):032x}"
        t = time.perf_counter()
        r = session.get(url, params={"writeKey": f"k-{source_of(j)}", "anonymousId": visitor})
        timings.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and bool(r.json()["segments"]) == known
    server.shutdown()
    print(f"GET /v1/segments over HTTP: {_percentiles(timings)} ({len(picks)} requests)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (store, rows, cache): {peak:.0f} MB")


if __name__ == "__main__":
    main()

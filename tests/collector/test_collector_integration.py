"""Events posted over HTTP to the real collector, through a real broker, into ClickHouse."""

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from collector.app import create_app
from collector.sink import EventSink
from core.settings import Settings
from journey.broker import LocalBroker
from storage.store import Store
from tests.helpers import (
    count_events,
    load_until_idle,
    post,
    read_topic,
    serve,
    unpack,
    wait_for,
)

pytestmark = pytest.mark.integration


def track(i: int, **extra: object) -> dict:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"m-{i}",
        "anonymousId": f"a-{i % 5}",
        "timestamp": "2024-05-01T12:00:00.000Z",
        "sentAt": "2024-05-01T12:00:02.000Z",
        "properties": {"product_id": f"sku-{i}", "price": 10.5},
        **extra,
    }


def test_posted_events_are_queryable_once_with_their_context(
    kafka_settings: Settings, store: Store
) -> None:
    sink = EventSink(kafka_settings)
    try:
        with serve(create_app(kafka_settings, sink=sink)) as url:
            good = [
                track(
                    i,
                    context={
                        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0",
                        "page": {"url": "https://shop.example/p?utm_source=ads&fbclid=F1"},
                    },
                )
                for i in range(120)
            ]
            batch = (
                good[:60] + [{"type": "track", "anonymousId": "x"}, {"type": "nope"}] + good[60:]
            )
            r = post(url, "/v1/batch", {"batch": batch, "context": {"locale": "de-DE"}})
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == 120
            assert [x["index"] for x in r.json()["rejected"]] == [60, 61]
            # a client retry of the same messages (its answer was lost) must not double count
            assert post(url, "/v1/batch", {"batch": good[:30]}).status_code == 200
            assert (
                post(
                    url,
                    "/v1/identify",
                    {
                        "anonymousId": "a-1",
                        "userId": "u-1",
                        "messageId": "id-1",
                        "traits": {"plan": "pro"},
                    },
                ).status_code
                == 200
            )
    finally:
        sink.close()
    load_until_idle(kafka_settings, store)
    assert count_events(store)[1] == 121
    row = store.execute(
        f"SELECT event, anonymous_id, timestamp_ms, received_at > timestamp, utm_source, click_id_type, "
        f"click_id, browser, locale, source, visitParamExtractFloat(properties, 'price') "
        f"FROM {store.database}.events WHERE event_id = 'm-7' LIMIT 1"
    )[0]
    assert row[:2] == ("Product Viewed", "a-2")
    assert row[3] == 1  # corrected into the server's clock: 2 s before it was received
    assert row[4:] == ("ads", "fbclid", "F1", "Firefox", "de-DE", "test-source", 10.5)
    letters = read_topic(
        kafka_settings.kafka_bootstrap_servers[0], kafka_settings.dead_letter_topic
    )
    assert sorted(letter["index"] for letter in letters) == [60, 61]


def test_broker_down_under_steady_traffic_spools_then_sends_directly_while_draining(
    settings: Settings, tmp_path: Path
) -> None:
    """Two collector workers sharing one spool, traffic never pausing: while the broker is away
    every request is spooled (2xx); once it is back, both send to it directly again within a few
    seconds while the spool drains beside them. (Waiting for an empty spool, which counts the
    other worker's open segment, kept both spooling for as long as the traffic lasted.) Nothing
    sent since the outage began is lost."""
    broker = LocalBroker().start()
    kafka = settings.with_overrides(
        kafka_bootstrap_servers=(broker.bootstrap,), kafka_ack_timeout_s=1.0
    )
    workers = [EventSink(kafka), EventSink(kafka)]
    sent: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    peak = [0]

    def traffic(url: str, first: int) -> None:  # batch after batch, each answered 200
        i = first
        while not stop.is_set():
            r = post(url, "/v1/batch", {"batch": [track(n) for n in range(i, i + 5)]})
            assert r.status_code == 200, r.text
            with lock:
                sent.extend(range(i, i + 5))
                peak[0] = max(peak[0], workers[0].spool.used_bytes())
            i += 20

    def spooling() -> bool:
        return any(w.spooling for w in workers)

    try:
        with (
            serve(create_app(kafka, sink=workers[0])) as one,
            serve(create_app(kafka, sink=workers[1])) as two,
        ):
            senders = [
                threading.Thread(target=traffic, args=(url, first), daemon=True)
                for url, first in ((one, 0), (two, 5), (one, 10), (two, 15))
            ]
            for sender in senders:
                sender.start()
            wait_for(lambda: len(sent) >= 40, 30, "traffic to flow")
            broker.stop()
            wait_for(lambda: all(w.spooling for w in workers), 30, "both workers to spool")
            # what the broker acknowledged until its process ended is lost with its memory;
            # everything from the first spooled request on must arrive
            with lock:
                outage_at = set(sent)
            time.sleep(2)
            broker.start()  # same port; the in-memory broker lost everything, topics included
            back = time.monotonic()
            wait_for(lambda: not spooling(), 15, "direct sends again, under traffic")
            direct_after = time.monotonic() - back
            wait_for(lambda: workers[0].spool.is_empty(), 30, "the spool to drain, under traffic")
            stop.set()
            for sender in senders:
                sender.join(10)
        assert direct_after < 5, direct_after
        assert peak[0] > 0  # it did spool
        events = [e for m in read_topic(broker.bootstrap, kafka.events_topic) for e in unpack(m)]
        got = {int(e["event_id"].split("-")[1]) for e in events}
        assert set(sent) - outage_at <= got
        print(
            f"direct again {direct_after:.1f} s after the broker came back; spool peak "
            f"{peak[0]:,} bytes; {len(sent)} events sent, none lost since the outage"
        )
    finally:
        stop.set()
        for worker in workers:
            worker.close()
        broker.stop()


def test_spool_full_answers_503_with_retry_after(settings: Settings) -> None:
    dead = settings.with_overrides(
        kafka_bootstrap_servers=("127.0.0.1:1",), spool_max_bytes=12_000, kafka_ack_timeout_s=0.5
    )
    sink = EventSink(dead)
    try:
        with serve(create_app(dead, sink=sink)) as url:
            statuses = [
                post(url, "/v1/batch", {"batch": [track(i) for i in range(5)]}) for _ in range(10)
            ]
        assert statuses[0].status_code == 200
        assert statuses[-1].status_code == 503
        assert statuses[-1].headers["Retry-After"] and "retry" in statuses[-1].json()["error"]
    finally:
        sink.close()


def test_the_readme_demo_command_runs_the_whole_pipeline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}
    env["JOURNEY_DATA_DIR"] = str(tmp_path / f"demo-{uuid.uuid4().hex[:6]}")
    done = subprocess.run(
        [sys.executable, "-m", "journey.cli", "demo", "--visitors", "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "accepted" in out and "shop funnel by utm_source" in out and "newsletter" in out
    sent = int(out.split(": ", 1)[1].split(" accepted")[0].split()[-1])
    assert f"loaded {sent} new events" in out
    # it ends with the journey report as HTML, whose funnel agrees with the printed stages
    path = Path(out.strip().splitlines()[-1].rsplit(": ", 1)[1])
    page = path.read_text()
    results = [
        json.loads(m.replace("<\\/", "</"))
        for m in re.findall(r"class='journey-result'[^>]*>(.*?)</script>", page, re.S)
    ]
    kinds = re.findall(r"<section data-kind='(\w+)'>", page)
    assert kinds[:6] == ["funnel", "funnel", "funnel_trend", "journey_map", "trends", "paths"]
    assert {"retention", "lifecycle", "web", "experiment", "correlation"} <= set(kinds)
    # the experiment the demo traffic ran on its mobile shoppers, printed and in the report
    assert "experiment mobile-free-shipping: orders holdout " in out
    tested = results[kinds.index("experiment")]
    assert tested["key"] == "mobile-free-shipping" and tested["people"] > 0
    assert [g["segment"] for g in tested["metrics"][0]["groups"]] == ["(all)", "mobile_shoppers"]
    weakest = results[kinds.index("correlation")]
    assert weakest["dropped"] > 0 and weakest["tested"] > 0  # the funnel's weakest step
    # the journey map of the shop's stages (touchpoint sets the demo defined), per source
    mapped = results[3]
    assert mapped["stages"] == ["awareness", "consideration", "intent", "purchase"]
    assert {g["value"] for g in mapped["groups"]} >= {"(everyone)", "google", "newsletter"}
    assert mapped["groups"][0]["stages"][-1]["people"] > 0
    assert page.count("class='journey-figure'") >= 10
    stages = ("Product Viewed ", "Product Added ", "Checkout Started ", "Order Completed ")
    printed = {
        " ".join(line.split()[:2]): int(line.split()[2])
        for line in out.splitlines()
        if line.startswith(stages)
    }
    assert {s["event"]: s["people"] for s in results[0]["steps"]} == printed

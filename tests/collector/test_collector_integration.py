"""Events posted over HTTP to the real collector, through a real broker, into ClickHouse."""

import json
import os
import re
import subprocess
import sys
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


def test_bundled_broker_down_events_are_spooled_then_replayed_none_lost(
    settings: Settings, tmp_path: Path
) -> None:
    broker = LocalBroker().start()
    kafka = settings.with_overrides(
        kafka_bootstrap_servers=(broker.bootstrap,), kafka_ack_timeout_s=1.0
    )
    sink = EventSink(kafka)
    try:
        with serve(create_app(kafka, sink=sink)) as url:
            assert (
                post(url, "/v1/batch", {"batch": [track(i) for i in range(10)]}).status_code == 200
            )
            broker.stop()
            for start in range(10, 60, 10):
                r = post(url, "/v1/batch", {"batch": [track(i) for i in range(start, start + 10)]})
                assert r.status_code == 200, r.text  # durable in the spool
            assert sink.spooling and sink.spool.used_bytes() > 0
            broker.start()  # same port; the in-memory broker lost everything, topics included
            assert (
                post(url, "/v1/batch", {"batch": [track(i) for i in range(60, 70)]}).status_code
                == 200
            )
            wait_for(lambda: sink.spool.is_empty() and not sink.spooling, 60, "the spool to drain")
            assert (
                post(url, "/v1/batch", {"batch": [track(i) for i in range(70, 80)]}).status_code
                == 200
            )
        events = [e for m in read_topic(broker.bootstrap, kafka.events_topic) for e in unpack(m)]
        # 0-9 went to the broker that was then lost with its memory; 10-79 must all be there
        assert {f"m-{i}" for i in range(10, 80)} <= {e["event_id"] for e in events}
        per_visitor: dict[str, list[int]] = {}
        for e in events:  # Kafka keeps order per key: each visitor's events in the order received
            per_visitor.setdefault(e["anonymous_id"], []).append(int(e["event_id"].split("-")[1]))
        for sequence in per_visitor.values():
            spooled = [i for i in sequence if 10 <= i < 70]
            assert spooled == sorted(spooled)
    finally:
        sink.close()
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
    assert {"retention", "lifecycle", "web", "correlation"} <= set(kinds)
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

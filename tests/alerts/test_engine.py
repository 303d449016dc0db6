"""Alert rules evaluated on real stores (ClickHouse server and chDB) against traffic with a
planted drop in one segment, with real receivers: a webhook over HTTP and an SMTP server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts import catalog
from alerts.channels import Channels
from alerts.engine import Engine, backtest, deliveries, history
from alerts.rules import parse_document
from analyzer.segments import catalog as segment_catalog
from analyzer.segments.definition import parse_document as parse_segments
from analyzer.segments.refresh import refresh
from core.settings import Settings
from storage import migrations
from storage.store import Store
from tests.alerts.receivers import Mailbox, Webhook, smtp_server, webhook_receiver
from tests.analyzer.segments.bases import COLUMNS
from tests.conftest import open_store
from tests.helpers import insert_events

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; day d runs from START + d days
DAYS = 35
DROP_DAYS = (30, 31)  # mobile converts at 10% instead of 30% on these days
DIP_DAY = 30  # desktop dips to 27%: within noise
EVALUATED = range(28, 35)  # each evaluated at the end of the day (plus the conversion window)
SEGMENTS = {
    "version": 1,
    "segments": [
        {"name": device, "rule": {"attribute": "device", "eq": device}}
        for device in ("mobile", "desktop", "tablet")
    ],
}


def rules(hook: str) -> dict[str, Any]:
    return {
        "version": 1,
        "alerts": [
            {
                "name": "orders-by-device",
                "funnel": {"steps": ["Product Viewed", "Order Completed"], "window": "1h"},
                "scope": {"each": {"segments": ["mobile", "desktop", "tablet"]}},
                "every": "1d",
                "lookback": "1d",
                "condition": {
                    "significant": 0.01,
                    "drop_percent": 20,
                    "baseline": {"same_weekday": 4},
                },
                "min_people": 100,
                "cooldown": "1h",
                "channels": [{"webhook": hook}, {"email": ["growth@example.com"]}, {"log": True}],
            }
        ],
    }


def traffic(seed: int = 5) -> list[tuple[Any, ...]]:
    """Per day: 300 mobile and 300 desktop people view a product, 40 tablet people (too few to
    judge, and they drop too); exactly round(rate * n) of them order 10 to 40 minutes later."""
    rng = random.Random(seed)
    rows = []
    for day in range(DAYS):
        for device, people in (("mobile", 300), ("desktop", 300), ("tablet", 40)):
            rate = 0.30
            if device in ("mobile", "tablet") and day in DROP_DAYS:
                rate = 0.10
            if device == "desktop" and day == DIP_DAY:
                rate = 0.27
            buyers = set(rng.sample(range(people), round(rate * people)))
            for i in range(people):
                anon = f"{device}-{day}-{i}"
                seen = START + timedelta(days=day, seconds=rng.randrange(0, 22 * 3600))
                rows.append(_row(f"v-{anon}", anon, "Product Viewed", seen, device))
                if i in buyers:
                    bought = seen + timedelta(minutes=rng.randrange(10, 40))
                    rows.append(_row(f"o-{anon}", anon, "Order Completed", bought, device))
    return rows


def _row(event_id: str, anon: str, event: str, at: datetime, device: str) -> tuple[Any, ...]:
    ms = int(at.timestamp() * 1000)
    values = {c: "" for c in COLUMNS}
    values.update(
        event_id=event_id,
        type="track",
        event=event,
        anonymous_id=anon,
        timestamp=ms // 1000,
        timestamp_ms=ms,
        device_type=device,
        properties="{}",
        traits="{}",
    )
    return (*(values[c] for c in COLUMNS), 1)


def end_of(day: int) -> datetime:
    """The moment that evaluates day ``day``'s entries: its end plus the 1h window."""
    return START + timedelta(days=day + 1, hours=1)


@dataclass
class World:
    store: Store
    hook: Webhook
    mail: Mailbox
    settings: Settings


@pytest.fixture(scope="module", params=["server", "embedded"])
def loaded(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    """The traffic and the device segments, once per store kind."""
    store = open_store(request.param, request, chdb_path)
    migrations.apply(store)
    rows = traffic()
    for i in range(0, len(rows), 5000):
        insert_events(store, [*COLUMNS, "loaded_at"], rows[i : i + 5000])
    segment_catalog.define(store, parse_segments(SEGMENTS))
    refresh(store, at=end_of(DAYS - 1))
    yield store
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")


@pytest.fixture
def world(loaded: Store, settings: Settings) -> Iterator[World]:
    for table in ("alert_rules", "alert_evaluations", "alert_deliveries"):
        loaded.execute(f"TRUNCATE TABLE {loaded.database}.{table}")
    with webhook_receiver() as hook, smtp_server() as mail:
        yield World(
            loaded,
            hook,
            mail,
            settings.with_overrides(
                alert_allow_private=True,
                smtp_host="127.0.0.1",
                smtp_port=mail.port,
                alert_retry_seconds=0.01,
            ),
        )


def test_a_planted_drop_fires_once_for_its_segment_and_resolves(world: World) -> None:
    catalog.define(world.store, parse_document(rules(world.hook.url), allow_private=True))
    engine = Engine(world.store, Channels(world.settings))
    for day in EVALUATED:
        (evaluation,) = engine.check(at=end_of(day))
        assert evaluation.error == ""
        by_scope = {s.scope: s for s in evaluation.scopes}
        assert set(by_scope) == {"segment=mobile", "segment=desktop", "segment=tablet"}
        assert by_scope["segment=tablet"].verdict.outcome == "insufficient"  # 40 < 100
        assert by_scope["segment=desktop"].verdict.outcome == "ok", day  # 27% is noise
        assert by_scope["segment=mobile"].verdict.current.entered == 300
    texts = [
        (m["alert"]["scope"], m["alert"]["state"], m["alert"]["at"]) for m in world.hook.received
    ]
    assert texts == [
        ("segment=mobile", "firing", end_of(30).isoformat()),
        ("segment=mobile", "resolved", end_of(32).isoformat()),
    ]
    firing = world.hook.received[0]
    assert firing["text"].startswith("[FIRING] orders-by-device (segment=mobile)")
    assert firing["alert"]["rate"] == 0.1 and firing["alert"]["baseline_rate"] == 0.3
    assert firing["alert"]["p_value"] < 1e-6 and firing["alert"]["drop_percent"] == 66.67
    subjects = [(m["Subject"], m["X-Rcpt"]) for m in world.mail.messages]
    assert subjects == [
        ("[Journey] FIRING: orders-by-device (segment=mobile)", "growth@example.com"),
        ("[Journey] RESOLVED: orders-by-device (segment=mobile)", "growth@example.com"),
    ]
    changes = history(world.store, "orders-by-device", changes_only=True)
    assert [(c["at"], c["scope"], c["state"], c["notice"]) for c in changes] == [
        (end_of(32), "segment=mobile", "ok", "resolved"),
        (end_of(30), "segment=mobile", "firing", "firing"),
    ]
    everything = history(world.store, "orders-by-device", limit=1000)
    assert len(everything) == 3 * len(EVALUATED)  # every evaluation of every scope is kept
    sent = deliveries(world.store, "orders-by-device")
    assert {(d["channel"], d["ok"]) for d in sent} == {
        ("webhook", True),
        ("email", True),
        ("log", True),
    }
    assert len(sent) == 6 and all("s3cret" not in d["target"] for d in sent)


def test_backtest_shows_when_it_would_have_fired_without_sending(world: World) -> None:
    (rule,) = parse_document(rules(world.hook.url), allow_private=True)
    replayed = backtest(
        world.store, rule, end_of(EVALUATED[0]), end_of(EVALUATED[-1]), timedelta(days=1)
    )
    assert [(r.at, r.scope, r.change, r.notice) for r in replayed] == [
        (end_of(30), "segment=mobile", "fired", "firing"),
        (end_of(32), "segment=mobile", "resolved", "resolved"),
    ]
    assert world.hook.received == [] and world.mail.messages == []
    assert history(world.store, "orders-by-device") == []


def test_below_threshold_and_relative_drop_on_the_whole_base(world: World) -> None:
    doc = rules(world.hook.url)
    base = doc["alerts"][0]
    doc["alerts"] = [
        {**base, "name": "floor", "scope": "all", "condition": {"below": 0.25}},
        {
            **base,
            "name": "mobile-drop",
            "scope": {"segment": "mobile"},
            "condition": {"drop_percent": 50, "baseline": {"previous": 3}},
        },
    ]
    catalog.define(world.store, parse_document(doc, allow_private=True))
    engine = Engine(world.store, Channels(world.settings))
    states = {}
    for day in EVALUATED:
        for e in engine.check(at=end_of(day)):
            for s in e.scopes:
                states[(e.rule, day)] = (
                    s.scope,
                    s.verdict.outcome,
                    round(s.verdict.current.rate, 4),
                )
    # all devices on day 30: (30 + 81 + 4) / 640 = 18.0%, day 31: (30 + 90 + 4) / 640 = 19.4%
    assert states[("floor", 30)] == ("all", "breach", round(115 / 640, 4))
    assert states[("floor", 31)] == ("all", "breach", round(124 / 640, 4))
    assert states[("floor", 32)][1] == "ok"
    # against the three days before: day 30 is a 67% drop (10% against 30%), day 31 a 57%
    # drop (against days 28 to 30: 23.3%), day 32 is up on a baseline that holds both drops
    assert states[("mobile-drop", 30)] == ("segment=mobile", "breach", 0.1)
    assert states[("mobile-drop", 31)] == ("segment=mobile", "breach", 0.1)
    assert states[("mobile-drop", 32)] == ("segment=mobile", "ok", 0.3)
    notices = [(m["alert"]["rule"], m["alert"]["state"]) for m in world.hook.received]
    assert notices == [
        ("floor", "firing"),
        ("mobile-drop", "firing"),
        ("floor", "resolved"),
        ("mobile-drop", "resolved"),
    ]


def test_a_failing_receiver_is_retried_and_failures_are_recorded(world: World) -> None:
    doc = rules(world.hook.url)
    doc["alerts"][0]["channels"] = [{"webhook": world.hook.url}]
    catalog.define(world.store, parse_document(doc, allow_private=True))
    world.hook.failures = [500, 503]  # then 200
    engine = Engine(world.store, Channels(world.settings))
    engine.check(at=end_of(30))
    assert len(world.hook.received) == 1
    (d,) = deliveries(world.store, "orders-by-device")
    assert (d["ok"], d["attempts"]) == (True, 3)
    world.hook.failures = [500] * 10
    engine.check(at=end_of(32))  # resolves; every attempt fails
    latest = deliveries(world.store, "orders-by-device")[0]
    assert (latest["notice"], latest["ok"], latest["attempts"]) == ("resolved", False, 4)
    assert "HTTP 500" in latest["error"] and len(world.hook.received) == 1


def test_private_targets_are_refused_unless_allowed(world: World) -> None:
    doc = rules("http://127.0.0.1:9/hook")
    with pytest.raises(ValueError, match=r"alerts\[0\]\.channels\[0\]\.webhook: 127\.0\.0\.1"):
        parse_document(doc)
    doc = rules(world.hook.url.replace("127.0.0.1", "localhost"))
    catalog.define(world.store, parse_document(doc, allow_private=True))
    strict = world.settings.with_overrides(alert_allow_private=False)
    Engine(world.store, Channels(strict)).check(at=end_of(30))
    webhook = [d for d in deliveries(world.store, "orders-by-device") if d["channel"] == "webhook"]
    assert webhook[0]["ok"] is False and "private or local address" in webhook[0]["error"]
    assert webhook[0]["attempts"] == 1  # refused, not retried
    assert world.hook.received == []

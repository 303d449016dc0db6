"""An experiment through the real pipeline: exposures and conversions posted to the collector as
an SDK posts them, through Apache Kafka and the loader into the ClickHouse server; the lift
planted in one segment is found there, its interval covering the planted value, and not in the
other."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from analyzer.experiments.analysis import analyze
from analyzer.experiments.assignment import hashed_variant
from analyzer.experiments.definition import parse_document
from tests.collector.conftest import KEY, Pipeline
from tests.collector.test_agent import CHROME_WINDOWS

pytestmark = pytest.mark.integration

RATES = {("vip", "offer"): 0.45}  # everyone else converts at 0.2, shown the offer or not


def test_a_planted_lift_is_found_where_it_was_planted(pipeline: Pipeline) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    (test,) = parse_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": "vip-offer",
                    "segments": ["vip", "new"],
                    "variants": [{"name": "holdout"}, {"name": "offer"}],
                    "metric": {
                        "name": "orders",
                        "converts": ["Product Added", "Order Completed"],
                        "within": "3d",
                    },
                    "start": (now - timedelta(days=10)).isoformat(),
                }
            ],
        }
    )
    rng = random.Random(12)
    messages: list[dict[str, Any]] = []

    def send(anon: str, event: str, at: datetime, **properties: Any) -> None:
        messages.append(
            {
                "type": "track",
                "event": event,
                "anonymousId": anon,
                "properties": properties,
                "timestamp": at.isoformat(),
                "messageId": f"{anon}-{len(messages)}",
                "context": {"userAgent": CHROME_WINDOWS},
            }
        )

    for p in range(1200):
        anon = f"visitor-{p}"
        segment = "vip" if p % 2 else "new"
        variant = hashed_variant(test, anon)
        seen = now - timedelta(days=8) + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        send(anon, "Experiment Viewed", seen, experiment="vip-offer", variant=variant,
             segment=segment)  # fmt: skip
        if rng.random() < RATES.get((segment, variant), 0.2):
            added = seen + timedelta(minutes=rng.randrange(1, 24 * 60))
            send(anon, "Product Added", added)
            send(anon, "Order Completed", added + timedelta(minutes=5), revenue=30)
    for i in range(0, len(messages), 200):
        answer = requests.post(
            f"{pipeline.collector}/v1/batch",
            json={"batch": messages[i : i + 200], "sentAt": now.isoformat()},
            auth=(KEY, ""),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    pipeline.wait_events(len(messages), timeout=120)

    result = analyze(pipeline.store, test, now)
    assert result.people == 1200 and result.crossed == 0
    groups = {g.segment: g for g in result.metrics[0].groups}
    vip = next(f for f in groups["vip"].variants if f.variant == "offer")
    new = next(f for f in groups["new"].variants if f.variant == "offer")
    assert vip.lift is not None and new.lift is not None
    assert vip.lift["absolute_low"] < 0.45 - 0.2 < vip.lift["absolute_high"]
    assert vip.significant
    assert new.lift["absolute_low"] < 0 < new.lift["absolute_high"] and not new.significant

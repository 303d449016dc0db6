"""The summary and the journey report answer for a store of any history: ten years of imported
events, or one stray event dated 1999 beside this year's (each once failed: the shop funnel took
the whole store as its range, which no analysis takes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzer.summary import RECENT_DAYS, report
from reports.journey_report import period_of, results
from storage.store import Store
from tests.analyzer.logs import load

pytestmark = [pytest.mark.integration, pytest.mark.engines("embedded", "server")]
LAST = datetime(2026, 11, 30, 12, tzinfo=UTC)
SHOP = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")


def event(n: int, name: str, person: str, at: datetime) -> dict[str, Any]:
    ms = int(at.timestamp() * 1000)
    return {
        "event_id": f"h-{n}", "type": "track", "event": name, "anonymous_id": person,
        "user_id": "", "previous_id": "", "timestamp": ms // 1000, "timestamp_ms": ms,
        "page_path": "/", "utm_source": "news", "properties": "{}", "traits": "{}",
    }  # fmt: skip


def history() -> list[dict[str, Any]]:
    """A visit a month for ten years, the recent ones going the whole funnel, and one from 1999."""
    events = [event(0, "Product Viewed", "old", datetime(1999, 6, 1, tzinfo=UTC))]
    for month in range(120):
        at = LAST - timedelta(days=30 * month)
        for step, name in enumerate(SHOP if month < 2 else SHOP[:1]):
            events.append(event(len(events), name, f"p{month}", at + timedelta(minutes=step)))
    return events


def test_a_long_history_gets_a_summary_over_its_recent_days(store: Store) -> None:
    load(store, history(), 1)
    found = report(store)
    assert found["events"] == 1 + 120 + 2 * 3
    until = datetime(2026, 12, 1, tzinfo=UTC)
    assert found["stages_until"] == until.isoformat()
    assert found["stages_since"] == (until - timedelta(days=RECENT_DAYS)).isoformat()
    # the months within the last 90 days: three visits, two of them buying
    assert [s["people"] for s in found["stages"]] == [3, 2, 2, 2]
    since, until_day = period_of(store) or (None, None)
    assert (since, until_day) == (until - timedelta(days=RECENT_DAYS), until)
    shown = results(store, since, until_day)  # type: ignore[arg-type]
    assert shown[0].data["steps"][0]["people"] == 3

from collections import Counter
from datetime import UTC, datetime

from journey.demo import generate


def test_same_seed_same_journeys_but_new_ids_each_run() -> None:
    now = datetime(2026, 1, 15, tzinfo=UTC)
    first, second = generate(200, seed=1, now=now), generate(200, seed=1, now=now)
    shape = [(m["type"], m.get("event"), m.get("name")) for m in first]
    assert shape == [(m["type"], m.get("event"), m.get("name")) for m in second]
    ids = [m.get("messageId") for m in first + second if m.get("messageId")]
    assert len(ids) == len(set(ids))  # a second demo adds events instead of duplicating them


def test_traffic_has_the_promised_segments_and_funnel() -> None:
    messages = generate(500, seed=3)
    events = Counter(m.get("event") for m in messages if m["type"] == "track")
    assert (
        events["Product Viewed"]
        > events["Product Added"]
        > events["Checkout Started"]
        > events["Order Completed"]
        > 0
    )
    kinds = Counter(m["type"] for m in messages)
    assert kinds["identify"] > 0 and kinds["group"] > 0 and kinds["page"] > 0
    agents = {m["context"]["userAgent"] for m in messages if "context" in m}
    assert len(agents) == 3  # desktop, mobile, tablet
    sources = {m["context"].get("campaign", {}).get("source") for m in messages if "context" in m}
    assert {"google", "newsletter", "facebook", None} <= sources
    assert any("event" not in m and m["type"] == "track" for m in messages)  # malformed ones


def test_no_demo_event_is_in_the_future() -> None:
    now = datetime(2026, 1, 15, tzinfo=UTC)
    times = [
        datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00"))
        for m in generate(1000, seed=9, now=now)
        if "timestamp" in m
    ]
    assert max(times) < now

"""Publishing public segments after a refresh, on the server, chDB and the cluster: only public
segments, per visitor's anonymous id and source, stitched across devices, scoped by source."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer.segments import catalog
from analyzer.segments.definition import DefinitionError, parse_document
from analyzer.segments.public import latest_version, segments_of, visitors
from analyzer.segments.refresh import refresh
from storage import migrations
from storage.store import Store
from tests.analyzer.segments.bases import NOW_MS
from tests.helpers import insert_events

pytestmark = pytest.mark.integration

COLUMNS = ["event_id", "type", "event", "anonymous_id", "user_id", "source", "timestamp",
           "timestamp_ms", "traits"]  # fmt: skip
DOC: dict[str, Any] = {
    "version": 1,
    "segments": [
        {"name": "pricing_fans", "public": True, "rule": {"did": "Pricing Viewed", "at_least": 2}},
        {"name": "shop_buyers", "public": ["shop"], "rule": {"did": "Order Completed"}},
        {"name": "vip", "rule": {"trait": "plan", "eq": "vip"}},  # not public: never told
    ],
}


def _events() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, event: str, anon: str, user: str, source: str, traits: str = "{}") -> None:
        ms = NOW_MS - 86_400_000 + len(rows) * 1000
        rows.append((f"e{len(rows)}", kind, event, anon, user, source, ms // 1000, ms, traits))

    # a: two pricing views on the blog, then logs in on the shop's site as u1 (a buyer, vip)
    add("track", "Pricing Viewed", "a", "", "blog")
    add("track", "Pricing Viewed", "a", "", "blog")
    add("identify", "", "a", "u1", "blog", '{"plan":"vip"}')
    # b: u1 on a phone, through the shop's key; buys there
    add("identify", "", "b", "u1", "shop")
    add("track", "Order Completed", "b", "u1", "shop")
    # c: one pricing view only; d: a buyer on the blog's key, anonymous
    add("track", "Pricing Viewed", "c", "", "blog")
    add("track", "Order Completed", "d", "", "blog")
    return rows


def test_public_segments_per_visitor_and_source(store: Store) -> None:
    migrations.apply(store)
    assert latest_version(store) == (0, 0)
    insert_events(store, COLUMNS, _events())
    catalog.define(store, parse_document(DOC))
    report = refresh(store)
    version, count = latest_version(store)
    assert version == report.refresh and count == report.published == 2
    got = {(s, a): segs for s, a, segs in visitors(store, version)}
    assert got == {
        # u1 also bought (on b), but shop_buyers is told through the shop's key only; vip never
        ("blog", "a"): ["pricing_fans"],
        # the person's other device is a fan too: journeys are stitched
        ("shop", "b"): ["pricing_fans", "shop_buyers"],
        # c viewed pricing once; d bought through the blog's key: nothing to tell either
    }
    assert segments_of(store, "blog", "c") == [] and segments_of(store, "shop", "a") == []
    assert all("vip" not in segs for segs in got.values())


def test_a_segment_made_private_is_withdrawn_at_the_next_refresh(store: Store) -> None:
    migrations.apply(store)
    insert_events(store, COLUMNS, _events())
    catalog.define(store, parse_document(DOC))
    refresh(store)
    private = {**DOC, "segments": [{**d, "public": False} for d in DOC["segments"]]}
    catalog.define(store, parse_document(private))
    report = refresh(store)
    assert latest_version(store) == (report.refresh, 0)
    assert visitors(store, report.refresh) == []


@pytest.mark.parametrize("value", ["yes", [], [""], [1]])
def test_public_takes_true_false_or_sources(value: Any) -> None:
    doc = {"version": 1, "segments": [{"name": "x", "public": value, "rule": {"did": "A"}}]}
    with pytest.raises(DefinitionError, match=r"segments\[0\]\.public"):
        parse_document(doc)

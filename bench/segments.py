"""Segment membership refresh of 1 million customers with 20 segments, in chDB.

The customer base is generated in SQL (fast, reproducible): per customer one or two devices,
60% identified with demographic traits, a third in companies with firmographic traits,
browsing and purchases with revenue over 180 days. 20 definitions: 17 rule segments
(demographic, geographic, firmographic, psychographic, behavioral), RFM, k-means clusters and
a purchase propensity model. Kept under bench/.data/ (not committed) and reused.

    python bench/segments.py [--customers 1000000] [--rounds 1]
    python bench/segments.py --customers 12000000   # the scale point: about 100 M events
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.segments import catalog  # noqa: E402
from analyzer.segments.definition import parse_document  # noqa: E402
from analyzer.segments.refresh import refresh  # noqa: E402
from storage import migrations  # noqa: E402
from storage.embedded import EmbeddedStore  # noqa: E402

DATA = Path(__file__).resolve().parent / ".data" / "chdb-segments"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_S = int(NOW.timestamp())

SEGMENTS = {
    "version": 1,
    "segments": [
        {
            "name": "young",
            "category": "demographic",
            "rule": {"trait": "age_band", "in": ["18-24", "25-34"]},
        },
        {
            "name": "high_income",
            "category": "demographic",
            "rule": {"trait": "income", "gte": 90000},
        },
        {
            "name": "women_35_plus",
            "category": "demographic",
            "rule": {
                "all": [
                    {"trait": "gender", "eq": "f"},
                    {"trait": "age_band", "in": ["35-44", "45+"]},
                ]
            },
        },
        {"name": "germany", "category": "geographic", "rule": {"attribute": "country", "eq": "DE"}},
        {
            "name": "big_cities",
            "category": "geographic",
            "rule": {"trait": "city", "in": ["Berlin", "Paris", "London"]},
        },
        {
            "name": "enterprise",
            "category": "firmographic",
            "rule": {"group_trait": "employees", "gte": 1000},
        },
        {
            "name": "saas_companies",
            "category": "firmographic",
            "rule": {"group_trait": "industry", "eq": "saas"},
        },
        {
            "name": "outdoor_lovers",
            "category": "psychographic",
            "rule": {"trait": "interests", "matches": "outdoor"},
        },
        {
            "name": "repeat_buyers_90d",
            "category": "behavioral",
            "rule": {"did": "Order Completed", "at_least": 2, "in_last_days": 90},
        },
        {
            "name": "browsers_not_buyers",
            "category": "behavioral",
            "rule": {
                "all": [
                    {"did": "Product Viewed", "at_least": 3, "in_last_days": 30},
                    {"did_not": "Order Completed", "in_last_days": 30},
                ]
            },
        },
        {
            "name": "from_newsletter",
            "category": "behavioral",
            "rule": {"attribute": "first_touch_source", "eq": "newsletter"},
        },
        {
            "name": "paid_social",
            "category": "behavioral",
            "rule": {"attribute": "first_touch_medium", "eq": "social"},
        },
        {
            "name": "mobile_users",
            "category": "behavioral",
            "rule": {"attribute": "device", "eq": "mobile"},
        },
        {
            "name": "new_this_month",
            "category": "behavioral",
            "rule": {"attribute": "lifecycle", "eq": "new"},
        },
        {
            "name": "dormant",
            "category": "behavioral",
            "rule": {"attribute": "lifecycle", "eq": "dormant"},
        },
        {
            "name": "loyal",
            "category": "behavioral",
            "rule": {"attribute": "purchase_frequency", "gte": 2},
        },
        {"name": "big_spenders", "category": "value", "rule": {"attribute": "revenue", "gt": 500}},
        {"name": "rfm", "rfm": {"purchase_event": "Order Completed"}},
        {"name": "behaviour", "clusters": {"method": "kmeans", "k": [2, 5], "sample": 50000}},
        {
            "name": "likely_buyers",
            "propensity": {
                "target": "purchase",
                "horizon_days": 14,
                "top_share": 0.1,
                "sample": 100000,
            },
        },
    ],
}


def build(store: EmbeddedStore, customers: int, data: Path) -> None:
    migrations.apply(store)
    db = store.database
    (have,) = store.execute(f"SELECT uniqExact(anonymous_id) FROM {db}.events")[0]
    if have >= customers:
        print(f"data: {have:,} devices already in {data}")
        return
    started = time.perf_counter()
    # customer c: 1 to 14 events on device a-c, identified as u-c when c % 5 < 3; half page
    # views, 40% product views, 10% orders with revenue, over the last 180 days
    rows = f"""SELECT c, e, toString(c) AS cs,
               if(cityHash64(c, e, 7) % 10 < 5, 0, if(cityHash64(c, e, 7) % 10 < 9, 1, 2)) AS k,
               {NOW_S} - 86400 * (cityHash64(c, 1) % 180) + 3600 * e
                 - 86400 * (cityHash64(c, e, 2) % 20) AS ts,
               1 + cityHash64(c, 3) % 4 AS channel
        FROM (SELECT number AS c, arrayJoin(range(toUInt64(1 + cityHash64(number, 6) % 14))) AS e
              FROM numbers({customers}))"""
    store.execute(
        f"""INSERT INTO {db}.events (event_id, type, event, anonymous_id, user_id, timestamp,
            timestamp_ms, utm_source, utm_medium, device_type, locale, properties, loaded_at)
        SELECT concat('e-', cs, '-', toString(e)), if(k = 0, 'page', 'track'),
               multiIf(k = 0, '', k = 1, 'Product Viewed', 'Order Completed'),
               concat('a-', cs), if(c % 5 < 3 AND e > 0, concat('u-', cs), ''),
               toDateTime(ts), ts * 1000 + c % 1000,
               if(e = 0, ['google', 'newsletter', 'facebook', ''][channel], ''),
               if(e = 0, ['cpc', 'email', 'social', ''][channel], ''),
               ['desktop', 'mobile', 'tablet'][1 + cityHash64(c, 4) % 3],
               ['en-US', 'de-DE', 'fr-FR', 'en-GB'][1 + cityHash64(c, 5) % 4],
               if(k = 2, concat('{{"revenue":', toString(10 + cityHash64(c, e) % 400), '}}'), '{{}}'),
               toDateTime({NOW_S})
        FROM ({rows})"""
    )
    store.execute(
        f"""INSERT INTO {db}.events (event_id, type, anonymous_id, user_id, group_id, timestamp,
            timestamp_ms, traits, loaded_at)
        SELECT concat('i-', toString(c)), 'identify', concat('a-', toString(c)),
               concat('u-', toString(c)), '', toDateTime({NOW_S} - 86400 * 200),
               ({NOW_S} - 86400 * 200) * 1000 + c % 1000,
               concat('{{"age_band":"', ['18-24', '25-34', '35-44', '45+'][1 + cityHash64(c, 8) % 4],
                      '","income":', toString(20000 + 10000 * (cityHash64(c, 9) % 12)),
                      ',"gender":"', ['f', 'm', 'x'][1 + cityHash64(c, 10) % 3],
                      '","city":"', ['Berlin', 'Paris', 'London', 'Austin', 'Lyon'][1 + cityHash64(c, 11) % 5],
                      '","interests":"', ['outdoor', 'tech', 'fashion'][1 + cityHash64(c, 12) % 3], '"}}'),
               toDateTime({NOW_S})
        FROM (SELECT number AS c FROM numbers({customers})) WHERE c % 5 < 3"""
    )
    store.execute(
        f"""INSERT INTO {db}.events (event_id, type, user_id, group_id, timestamp, timestamp_ms,
            traits, loaded_at)
        SELECT concat('g-', toString(c)), 'group', concat('u-', toString(c)),
               concat('co-', toString(c % 5000)), toDateTime({NOW_S} - 86400 * 100),
               ({NOW_S} - 86400 * 100) * 1000 + c % 1000,
               concat('{{"employees":', toString([5, 50, 500, 5000][1 + (c % 5000) % 4]),
                      ',"industry":"', ['retail', 'saas', 'finance'][1 + (c % 5000) % 3], '"}}'),
               toDateTime({NOW_S})
        FROM (SELECT number AS c FROM numbers({customers})) WHERE c % 5 = 0"""
    )
    (events,) = store.execute(f"SELECT count() FROM {db}.events")[0]
    print(
        f"data: built {events:,} events for {customers:,} customers in {time.perf_counter() - started:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    data = DATA if args.customers == 1_000_000 else DATA.with_name(f"{DATA.name}-{args.customers}")
    store = EmbeddedStore.open(data, "journey")
    build(store, args.customers, data)
    (events,) = store.execute("SELECT count() FROM journey.events")[0]
    print(f"events: {events:,}")
    catalog.define(store, parse_document(SEGMENTS))
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        report = refresh(store, at=NOW)
        times.append(time.perf_counter() - started)
        print(
            f"refresh of {len(report.segments)} segments for {report.base:,} people: {times[-1]:.1f} s"
        )
        own: dict[str, float] = {}
        for s in report.segments:
            own[s.kind] = max(own.get(s.kind, 0.0), s.details["own_ms"] / 1000)
        print(
            f"  one pass over the events {report.segments[0].details['pass_ms'] / 1000:.1f} s; "
            f"then the base and the rule segments {own.get('rule', 0):.1f} s, "
            f"rfm {own.get('rfm', 0):.1f} s, clusters {own.get('clusters', 0):.1f} s, "
            f"propensity {own.get('propensity', 0):.1f} s"
        )
        for s in report.segments:
            if s.kind == "propensity":
                print(f"  propensity held-out: {s.details['held_out']}")
            if s.kind == "clusters":
                print(f"  clusters: k={s.details['k']} by {s.details['criterion']}")
        if report.errors:
            print(f"  errors: {report.errors}")
    print(f"membership refresh: median {statistics.median(times):.1f} s over {len(times)} run(s)")


if __name__ == "__main__":
    main()

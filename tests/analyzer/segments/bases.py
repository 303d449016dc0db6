"""Generated customer bases for the segment tests, where the right answer can be worked out.

People have one or two devices, most sign up (identify with demographic traits, sometimes
changed later), some belong to companies (group traits), they browse and buy over five months
with revenue as a number or as a string; 15% of rows are replayed and everything is loaded out
of order. ``planted`` bases have three behaviour types for the cluster tests.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from storage import migrations
from storage.store import Store
from tests.helpers import insert_events

COLUMNS = [
    "event_id",
    "type",
    "event",
    "anonymous_id",
    "user_id",
    "group_id",
    "previous_id",
    "timestamp",
    "timestamp_ms",
    "page_path",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "device_type",
    "browser",
    "os",
    "locale",
    "geo_country",
    "properties",
    "traits",
]
NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000
SOURCES = ["google", "newsletter", "facebook", ""]
DEVICES = ["desktop", "mobile", "tablet"]
LOCALES = ["en-US", "de-DE", "fr-FR", "en-GB", ""]
AGE_BANDS = ["18-24", "25-34", "35-44", "45+"]
INTERESTS = ["outdoor", "fashion", "tech", "home"]
CITIES = ["Berlin", "Paris", "Austin", "Leeds", ""]
INDUSTRIES = ["retail", "saas", "finance"]


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


class Base:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.events: list[dict[str, Any]] = []
        self.used_ms: set[int] = set()

    def ms(self, days_ago_low: float, days_ago_high: float) -> int:
        """A unique moment between the two ages (unique: traits never tie)."""
        while True:
            t = NOW_MS - int(self.rng.uniform(days_ago_low, days_ago_high) * DAY_MS)
            t -= t % 1000 if self.rng.random() < 0.3 else 0  # some whole seconds
            if t not in self.used_ms:
                self.used_ms.add(t)
                return t

    def add(self, kind: str, anon: str, user: str, ms: int, **f: Any) -> None:
        n = len(self.events)
        self.events.append(
            {
                "event_id": f"s{self.seed}-{n:06d}",
                "type": kind,
                "event": f.get("event", ""),
                "anonymous_id": anon,
                "user_id": user,
                "group_id": f.get("group", ""),
                "previous_id": "",
                "timestamp": ms // 1000,
                "timestamp_ms": ms,
                "page_path": f.get("path", "/"),
                "referrer_host": f.get("referrer", ""),
                "utm_source": f.get("source", ""),
                "utm_medium": "cpc" if f.get("source") else "",
                "device_type": f.get("device", ""),
                "browser": "Chrome",
                "os": "Linux",
                "locale": f.get("locale", ""),
                "geo_country": f.get("geo", ""),
                "properties": _json(f.get("properties", {})),
                "traits": _json(f.get("traits", {})),
            }
        )


def customers(seed: int, people: int = 240) -> list[dict[str, Any]]:
    b = Base(seed)
    rng = b.rng
    companies = {
        f"company-{seed}-{c}": {
            "employees": rng.choice([5, 40, 300, 5000]),
            "industry": rng.choice(INDUSTRIES),
        }
        for c in range(12)
    }
    for p in range(people):
        devices = [f"a-{seed}-{p}-{d}" for d in range(rng.choice([1, 1, 2]))]
        user = f"u-{seed}-{p}" if rng.random() < 0.7 else ""
        first_age = rng.uniform(1, 150)
        signup = b.ms(0.5, first_age) if user else 0
        for i, device in enumerate(devices):
            source = rng.choice(SOURCES)
            kind = rng.choice(DEVICES)
            locale = rng.choice(LOCALES)
            geo = rng.choice(["", "", "FR", "DE", "US"])
            for e in range(rng.randint(1, 10)):
                t = b.ms(0, first_age) if e else b.ms(first_age - 0.01, first_age)
                on_user = user if user and t > signup and (i == 0 or rng.random() < 0.5) else ""
                fields: dict[str, Any] = {
                    "device": kind,
                    "locale": locale,
                    "source": source if rng.random() < 0.7 or e == 0 else "",
                    "referrer": "www.google.com" if source == "google" else "",
                    "geo": geo if e % 3 else "",
                }
                r = rng.random()
                if r < 0.4:
                    b.add(
                        "page",
                        device,
                        on_user,
                        t,
                        path=rng.choice(["/", "/sale", "/help"]),
                        **fields,
                    )
                elif r < 0.75:
                    b.add(
                        "track",
                        device,
                        on_user,
                        t,
                        event="Product Viewed",
                        path=f"/product/{rng.randrange(30)}",
                        properties={"category": rng.choice(INTERESTS)},
                        **fields,
                    )
                else:
                    revenue: Any = round(rng.uniform(5, 400), 2)
                    if rng.random() < 0.2:
                        revenue = str(revenue)
                    b.add(
                        "track",
                        device,
                        on_user,
                        t,
                        event="Order Completed",
                        path="/checkout/done",
                        properties={"revenue": revenue, "order_id": f"o{len(b.events)}"},
                        **fields,
                    )
            if user:
                traits: dict[str, Any] = {
                    "age_band": rng.choice(AGE_BANDS),
                    "income": rng.choice([18000, 42000, 75000, 120000]),
                    "city": rng.choice(CITIES),
                    "interests": rng.choice(INTERESTS),
                }
                if rng.random() < 0.5:
                    traits["email"] = f"p{p}@example.com"
                if rng.random() < 0.4:
                    traits["country"] = rng.choice(["de", "US", "FR"])
                if rng.random() < 0.2:
                    traits["income"] = str(traits["income"])  # a number sent as text
                b.add("identify", device, user, signup + i, traits=traits)
        if user and rng.random() < 0.3:  # changes a trait later
            b.add("identify", "", user, b.ms(0, 0.4), traits={"age_band": rng.choice(AGE_BANDS)})
        if user and rng.random() < 0.35:
            company = rng.choice(list(companies))
            b.add("group", "", user, b.ms(0, first_age), group=company, traits=companies[company])
    for company in list(companies)[:4]:  # a company grows: its latest traits win
        b.add("group", "", "", b.ms(0, 0.2), group=company, traits={"employees": 20000})
    return b.events


def planted(seed: int, per_type: int = 150) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Three kinds of people: browsers (many views, no orders, recent), buyers (orders with
    high revenue, many active days), lapsed (a couple of views long ago). Returns the events and
    each person's kind."""
    b = Base(seed)
    rng = b.rng
    kinds = {}
    for p in range(3 * per_type):
        kind = ("browser", "buyer", "lapsed")[p % 3]
        person = f"k-{seed}-{p}"
        kinds[person] = kind
        if kind == "browser":
            for _ in range(rng.randint(25, 40)):
                b.add("page", person, "", b.ms(0, 6), path="/")
        elif kind == "buyer":
            for _ in range(rng.randint(5, 8)):
                t = b.ms(0, 60)
                b.add("track", person, "", t, event="Product Viewed", path="/product/1")
                b.add(
                    "track",
                    person,
                    "",
                    t + 1000,
                    event="Order Completed",
                    properties={"revenue": round(rng.uniform(150, 400), 2)},
                )
        else:
            for _ in range(rng.randint(1, 2)):
                b.add("page", person, "", b.ms(100, 140), path="/")
    return b.events, kinds


def load(store: Store, events: list[dict[str, Any]], seed: int) -> None:
    """Insert out of order in blocks, with 15% of the rows replayed."""
    migrations.apply(store)
    rng = random.Random(seed)
    rows = [tuple(e[c] for c in COLUMNS) + (1,) for e in events]
    rows += [r[:-1] + (2,) for r in rng.sample(rows, len(rows) * 15 // 100)]
    rng.shuffle(rows)
    for i in range(0, len(rows), 500):
        insert_events(store, [*COLUMNS, "loaded_at"], rows[i : i + 500])

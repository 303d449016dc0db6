"""Random event logs for the analyzer's tests: people on one or two devices, some identifying
mid-journey, a few aliased; ties in time, replayed duplicates and out-of-order arrival."""

from __future__ import annotations

import json
import random
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
    "previous_id",
    "timestamp",
    "timestamp_ms",
    "page_path",
    "utm_source",
    "properties",
    "traits",
    "loaded_at",
]
T0 = 1_700_000_000_000  # ms, Tuesday 2023-11-14 22:13:20 UTC
NAMES = ["View", "Cart", "Buy", "Other", "Error"]
PATHS = ["/home", "/product/12", "/product/7", "/cart", "/checkout"]
SOURCES = ["google", "facebook", ""]
PLANS = ["free", "pro"]


def _price(n: int) -> dict[str, float]:
    """A number to sum and average, left out of every fifth event (taken from the event's
    number, not the random generator, so the logs stay what they were)."""
    return {} if n % 5 == 0 else {"price": (n * 37) % 100 / 4}


def random_log(
    seed: int,
    persons: int = 80,
    ties: bool = True,
    span_s: int = 8 * 3600,
    events_per_device: tuple[int, int] = (1, 12),
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    n = 0

    def add(kind: str, name: str, anon: str, user: str, ms: int, **extra: str) -> None:
        nonlocal n
        n += 1
        events.append(
            {
                "event_id": f"e{seed}-{n:05d}",
                "type": kind,
                "event": name,
                "anonymous_id": anon,
                "user_id": user,
                "previous_id": extra.get("previous", ""),
                "timestamp": ms // 1000,
                "timestamp_ms": ms,
                "page_path": extra.get("path", rng.choice(PATHS)),
                "utm_source": extra.get("source", ""),
                "properties": json.dumps(
                    {"plan": rng.choice(PLANS), **_price(n)}, separators=(",", ":")
                ),
                "traits": extra.get("traits", "{}"),
            }
        )

    grid = 10_000 if ties else 7_000  # a 10 s grid makes many ties
    for p in range(persons):
        devices = [f"anon-{seed}-{p}-{d}" for d in range(rng.choice([1, 1, 2]))]
        user = f"user-{seed}-{p}" if rng.random() < 0.6 else ""
        identified_at = T0 + rng.randrange(0, span_s * 3 // 4) * 1000 + p  # unique: no tie on links
        for device in devices:
            source = rng.choice(SOURCES)
            for _ in range(rng.randint(*events_per_device)):
                ms = T0 + rng.randrange(0, span_s * 1000 // grid) * grid
                on_user = user if user and ms > identified_at else ""
                if rng.random() < 0.35:
                    add("page", "", device, on_user, ms, source=source)
                else:
                    add("track", rng.choice(NAMES), device, on_user, ms, source=source)
            if user:
                traits = json.dumps({"tier": rng.choice(["gold", "silver"])}, separators=(",", ":"))
                add(
                    "identify",
                    "",
                    device,
                    user,
                    identified_at + devices.index(device),
                    traits=traits,
                )
        if user and rng.random() < 0.15:
            renamed = f"renamed-{seed}-{p}"
            add("alias", "", "", renamed, identified_at + 50_000, previous=user)
            add("track", "Buy", "", renamed, identified_at + 60_000)
    return events


def load(store: Store, events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Insert out of order, in several blocks, with 15% of the rows replayed. Returns the events
    with ``tie``: the hash that orders events of the same millisecond (analyzer.timeline)."""
    migrations.apply(store)
    rng = random.Random(seed)
    rows = [tuple(e[c] for c in COLUMNS[:-1]) + (1,) for e in events]
    rows += [r[:-1] + (2,) for r in rng.sample(rows, len(rows) * 15 // 100)]
    rng.shuffle(rows)
    for i in range(0, len(rows), 97):
        insert_events(store, COLUMNS, rows[i : i + 97])
    ties = dict(
        store.execute(
            f"SELECT DISTINCT event_id, cityHash64(event_id) FROM {store.database}.events"
        )
    )
    return [{**e, "tie": int(ties[e["event_id"]])} for e in events]

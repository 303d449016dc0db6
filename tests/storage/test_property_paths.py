"""Migration 0011 on a table that already holds events: every event written before it gets
its property and trait paths, once, on the server, chDB and the cluster."""

from __future__ import annotations

import orjson
import pytest

from storage import migrations
from storage.store import Store

pytestmark = pytest.mark.integration

COLUMNS = ["event_id", "type", "event", "anonymous_id", "user_id", "timestamp", "timestamp_ms",
           "properties", "traits", "loaded_at"]  # fmt: skip
T = 1_700_000_000


def _row(i: int, properties: object, traits: object, loaded: int = 1) -> tuple[object, ...]:
    at = T + i * 40 * 86_400  # a few months apart
    return (f"e{i}", "track", "Order Completed", f"a{i}", "", at, at * 1000,
            orjson.dumps(properties).decode(), orjson.dumps(traits).decode(), loaded)  # fmt: skip


def test_events_loaded_before_the_paths_get_them(store: Store) -> None:
    known = migrations.discover()
    before = [m for m in known if m.version < 11]
    migrations.apply(store, before)
    rows = [
        _row(0, {"products": [{"revenue": 999}], "revenue": 25}, {}),
        _row(1, {}, {"company": {"country": "DE"}, "country": "FR"}),
        _row(2, {}, {}),
        _row(3, {"category": "Store"}, {"plan": "pro"}),
    ]
    store.insert("events", COLUMNS, rows)
    store.insert("events", COLUMNS, [rows[0]])  # a replay left in the table
    migrations.apply(store, known)
    db = store.database
    got = {
        r[0]: r[1:]
        for r in store.execute(
            f"SELECT event_id, visitParamExtractString(property_paths, 'revenue'), "
            f"visitParamExtractString(trait_paths, 'country'), "
            f"visitParamExtractString(trait_paths, 'company.country'), "
            f"visitParamExtractString(property_paths, 'category'), property_paths "
            f"FROM {db}.events"
        )
    }
    assert got == {
        "e0": ("25", "", "", "", '{"revenue":"25","products[0].revenue":"999"}'),
        "e1": ("", "FR", "DE", "", "{}"),
        "e2": ("", "", "", "", ""),  # nothing to flatten: left as it was
        "e3": ("", "", "", "Store", '{"category":"Store"}'),
    }
    # one row per event: the old copies (and the replay) are gone
    assert store.execute(f"SELECT count() FROM {db}.events")[0][0] == 4

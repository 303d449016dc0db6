"""The variants already shown, published for the website under every anonymous id of the
person, on the server, chDB and the cluster: the first exposure's, bots' left out, only for
running experiments."""

from __future__ import annotations

from datetime import UTC, datetime

from analyzer.experiments import catalog, published
from analyzer.experiments.definition import parse_document
from storage import migrations
from storage.store import Store
from tests.helpers import insert_events

COLUMNS = ["event_id", "type", "event", "anonymous_id", "user_id", "properties", "device_type",
           "timestamp", "timestamp_ms"]  # fmt: skip
START = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)


def _defined(key: str, end: str | None = None) -> dict[str, object]:
    return {
        "key": key,
        "variants": [{"name": "A"}, {"name": "B"}],
        "metric": {"name": "m", "converts": ["Buy"]},
        "start": "2026-01-01",
        **({"end": end} if end else {}),
    }


def test_each_anonymous_id_of_an_exposed_person_gets_their_first_variant(store: Store) -> None:
    migrations.apply(store)
    seen = '{{"experiment":"{}","variant":"{}"}}'
    segment_spec = '{{"experiment_id":"{}","variation_id":"{}"}}'  # Segment's own names
    rows = [
        ("x1", "track", "Experiment Viewed", "laptop", "", seen.format("header", "A"), "desktop"),
        ("x2", "identify", "", "laptop", "u9", "{}", "desktop"),
        ("x3", "identify", "", "phone", "u9", "{}", "mobile"),
        ("x4", "track", "Experiment Viewed", "phone", "u9", seen.format("header", "B"), "mobile"),
        ("x5", "track", "Experiment Viewed", "other", "", segment_spec.format("header", "B"), ""),
        ("x6", "track", "Experiment Viewed", "crawler", "", seen.format("header", "A"), "bot"),
        ("x7", "track", "Experiment Viewed", "laptop", "", seen.format("ended", "B"), "desktop"),
    ]
    timed = [(*r, (START + i * 60_000) // 1000, START + i * 60_000) for i, r in enumerate(rows)]
    insert_events(store, COLUMNS, timed)
    doc = {"version": 1, "experiments": [_defined("header"), _defined("ended", "2026-02-01")]}
    catalog.define(store, parse_document(doc))
    assert published.publish(store, 7, datetime(2026, 6, 2, tzinfo=UTC)) == 3
    assert sorted(published.exposures(store, 7)) == [
        ("laptop", "header", "A"),
        ("other", "header", "B"),
        ("phone", "header", "A"),  # the person's first exposure, on the laptop
    ]

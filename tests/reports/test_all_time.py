"""All time and the longest period: ``since=all`` starts at the store's first event, and a
period longer than JOURNEY_LONGEST_RANGE_DAYS is refused naming its parameter, on the ClickHouse
server and on chDB."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import requests

from core.settings import Settings
from reports import analyses
from reports.api import create_app
from reports.params import ParamError, Params
from reports.tokens import TokenStore
from storage import migrations
from storage.store import Store
from tests.helpers import insert_events, serve

TODAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
COLUMNS = ["event_id", "type", "event", "anonymous_id", "timestamp", "timestamp_ms"]


def _ms(*when: int) -> int:
    return int(datetime(*when, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


# Three people nearly twenty years apart; the first converts in 2007, the last in 2026.
EVENTS = [
    ("a1", "track", "View", "early", _ms(2007, 1, 5, 9)),
    ("a2", "track", "Cart", "early", _ms(2007, 1, 5, 10)),
    ("a3", "track", "Buy", "early", _ms(2007, 1, 5, 11)),
    ("b1", "track", "View", "middle", _ms(2016, 6, 1, 12)),
    ("c1", "track", "View", "late", _ms(2026, 11, 1, 8)),
    ("c2", "track", "Cart", "late", _ms(2026, 11, 1, 8, 30)),
    ("c3", "track", "Buy", "late", _ms(2026, 11, 2, 8)),
]


def _load(store: Store) -> None:
    migrations.apply(store)
    insert_events(store, COLUMNS, [(i, t, e, a, ms // 1000, ms) for i, t, e, a, ms in EVENTS])


def test_all_time_reads_the_whole_store_where_the_setting_allows(store: Store) -> None:
    _load(store)
    asked = Params.of(step=("View", "Cart", "Buy"), since="all", mode="ordered")
    result = analyses.run(store, "funnel", asked, TODAY, longest_days=7305)
    counts = [s["people"] for s in result.data["steps"]]
    assert counts == [3, 2, 2]  # both ends of twenty years, in one ordered (packed-key) search
    assert result.warnings == []
    strict = Params.of(step=("View", "Cart", "Buy"), since="all", mode="strict")
    result = analyses.run(store, "funnel", strict, TODAY, longest_days=7305)
    assert [s["people"] for s in result.data["steps"]] == [3, 2, 2]
    try:
        analyses.run(store, "funnel", Params.of(step=("View", "Cart"), since="all"), TODAY)
    except ParamError as refused:
        assert refused.name == "since" and "from 2007-01-05" in str(refused)
    else:
        raise AssertionError("all time over twenty years passed the default longest period")


def test_the_api_reads_the_longest_period_from_its_settings(store: Store, tmp_path: Path) -> None:
    _load(store)
    tokens = TokenStore.local(tmp_path / "tokens.sqlite3")
    token = tokens.create("analyst")
    for longest, status in ((731, 400), (7305, 200)):
        app = create_app(store, tokens)
        app.config["JOURNEY_SETTINGS"] = Settings(longest_range_days=longest)
        with serve(app) as url:
            answer = requests.get(
                f"{url}/api/v1/reports/funnel",
                params={"step": ["View", "Buy"], "since": "all", "until": "2026-12-08"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        assert answer.status_code == status, answer.text
        if status == 400:
            assert answer.json()["parameter"] == "since"
            assert "JOURNEY_LONGEST_RANGE_DAYS" in answer.json()["error"]
        else:
            assert [s["people"] for s in answer.json()["result"]["steps"]] == [3, 2]

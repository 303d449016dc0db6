"""The SQL each analysis sends to ClickHouse for a fixed specification, kept beside the tests
(``__snapshots__/``, as PostHog keeps its own) so that a change to the generated SQL shows in
review as a diff of SQL, not only as a changed number.

The statements are recorded as bound (storage.sql.bind), on chDB, over a small log, with the
test database's name written ``{database}``, laid out one clause, list item and condition a
line (tests/analyzer/sql_format.py: only whitespace between tokens differs from what is sent). After a deliberate change, rewrite them with
``JOURNEY_UPDATE_SNAPSHOTS=1 pytest tests/analyzer/test_sql_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from reports import analyses
from reports.parameters import declared
from reports.params import Params
from storage.sql import bind
from storage.store import Store
from tests.analyzer.logs import load, random_log
from tests.analyzer.sql_format import layout
from tests.conftest import drop_store, open_store

pytestmark = pytest.mark.integration
SNAPSHOTS = Path(__file__).parent / "__snapshots__"
TODAY = datetime(2023, 11, 20, tzinfo=UTC)
PERIOD = {"since": "2023-11-01", "until": "2023-12-01"}
SHOP = ("Product Viewed", "Product Added|properties.price~^[0-9]", "Order Completed")
SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "funnel": ("funnel", {"step": SHOP, "exclude": ("Checkout Error@2-3",)}),
    "funnel_breakdown": ("funnel", {"step": SHOP, "breakdown": "utm_source"}),
    "funnel_two_fields": ("funnel", {"step": SHOP, "breakdown": ("utm_source", "properties.plan")}),
    "funnel_trend": ("funnel", {"step": SHOP, "trend": "week"}),
    "funnel_dropped": ("funnel", {"step": SHOP, "dropped_at": 2}),
    "funnel_gaps": ("funnel", {"step": SHOP, "gap": ("2=-1h", "3=5m-2d")}),
    "funnel_strict_gaps": ("funnel", {"step": SHOP, "gap": ("3=1m-",), "mode": "strict"}),
    "funnel_held": ("funnel", {"step": SHOP, "hold": "properties.plan", "mode": "any"}),
    "funnel_session": ("funnel", {"step": SHOP, "hold": "session", "breakdown": "person.tier"}),
    "paths": ("paths", {"kind": "page", "clean": (r"^/product/\d+$=/product/:id",)}),
    "paths_after_drop_off": ("paths", {"step": SHOP, "dropped_at": 1}),
    "paths_between_steps": ("paths", {"step": SHOP, "dropped_at": 1, "converted": "true"}),
    "painpoints": ("painpoints", {"step": SHOP, "segment": "utm_source=google"}),
    "retention": ("retention", {"start_event": SHOP[0], "return_event": SHOP[2]}),
    "retention_revenue": (
        "retention",
        {"start_event": SHOP[0], "return_event": SHOP[2], "measure": "sum", "property": "price"},
    ),
    "lifecycle": ("lifecycle", {"event": SHOP[0], "period": "day"}),
    "stickiness": ("stickiness", {"event": SHOP[0], "per": "month"}),
    "scorecard": ("scorecard", {"step": SHOP[::2]}),
    "compare": ("compare", {"before_since": "2023-10-01", "before_until": "2023-11-01"}),
    "campaigns": ("campaigns", {}),
    "journey_map": ("journey_map", {"stage": SHOP, "breakdown": "utm_source"}),
    "trends_people": ("trends", {"event": SHOP[0], "measure": "people", "breakdown": "utm_source"}),
    "trends_sum": ("trends", {"event": SHOP[2], "measure": "sum", "property": "price"}),
    "web": ("web", {"clean": (r"^/product/\d+$=/product/:id",)}),
    "correlation": ("correlation", {"step": SHOP, "dropped_at": 1, "field": ("utm_source",)}),
    "experiment": ("experiment", {"experiment": "vip-offer", "as_of": "2026-03-10"}),
}


class Recording:
    """The store, writing down each statement as the engine receives it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.statements: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _record(self, sql: str, params: Mapping[str, Any] | None) -> None:
        self.statements.append(bind(sql, params).replace(self.store.database, "{database}"))

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self._record(sql, params)
        return self.store.execute(sql, params)

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        self._record(sql, params)
        return self.store.query_df(sql, params)


@pytest.fixture(scope="module")
def recorded(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    opened = open_store("embedded", request, chdb_path)
    load(opened, random_log(5, persons=30), 5)
    from analyzer.experiments import catalog
    from tests.analyzer.experiments.test_analysis import experiment

    catalog.define(opened, [experiment()])
    yield opened
    drop_store(opened)


@pytest.mark.parametrize("name", list(SPECS))
def test_the_sql_of_each_analysis_is_the_reviewed_one(name: str, recorded: Store) -> None:
    kind, given = SPECS[name]
    store = Recording(recorded)
    dated = "since" in declared(kind)
    analyses.run(store, kind, Params.of(**given, **(PERIOD if dated else {})), TODAY)  # type: ignore[arg-type]
    compare(name, ";\n\n".join(layout(s) for s in store.statements) + ";\n")


def compare(name: str, text: str) -> None:
    """``text`` against the snapshot ``name`` (written instead with JOURNEY_UPDATE_SNAPSHOTS=1)."""
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("JOURNEY_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"no snapshot {path.name}: write it with JOURNEY_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(), (
        f"{name}'s SQL changed; if on purpose, rewrite {path} with JOURNEY_UPDATE_SNAPSHOTS=1 "
        "and review the diff"
    )


SEGMENTS = """
version: 1
segments:
  - name: window_shoppers
    rule:
      all:
        - {did: Product Viewed, at_least: 2, in_last_days: 30}
        - {did_not: Order Completed, in_last_days: 30}
  - name: rfm
    rfm: {purchase_event: Order Completed, revenue_property: revenue}
"""
ALERTS = {
    "version": 1,
    "alerts": [
        {
            "name": "orders",
            "funnel": {"steps": [SHOP[0], SHOP[2]], "window": "1d"},
            "scope": {"each": {"segments": ["window_shoppers"]}},
            "every": "1d",
            "lookback": "7d",
            "condition": {"significant": 0.01, "drop_percent": 20, "baseline": {"same_weekday": 2}},
            "min_people": 1,
            "channels": [{"log": True}],
        }
    ],
}


def _refresh(store: Store) -> None:
    from analyzer.segments.refresh import refresh

    refresh(store, at=TODAY)


def _alerts(store: Store) -> None:
    from alerts.channels import Channels
    from alerts.engine import Engine
    from core.settings import Settings

    Engine(store, Channels(Settings())).check(at=TODAY)


def _expire(store: Store) -> None:
    from privacy.expiry import expire

    expire(store, 20, now=TODAY)


def _erase(store: Store) -> None:
    from privacy.erasure import erase

    anonymous = "anon-7-0-0"  # a visitor of random_log(7)
    erase(store, "anonymous_id", anonymous)


# The work that is not a report, in the order it runs here (each changes the store the next
# reads: refresh before the alert rule on a segment, erasure and expiry last)
OPERATIONS = {
    "segment_refresh": _refresh,
    "alert_evaluation": _alerts,
    "erasure": _erase,
    "expiry": _expire,
}


@pytest.fixture(scope="module")
def operated(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    from alerts import catalog as alert_catalog
    from alerts.rules import parse_document as parse_alerts
    from analyzer.segments import catalog as segment_catalog
    from analyzer.segments.definition import parse_document as parse_segments

    opened = open_store("embedded", request, chdb_path)
    load(opened, random_log(7, persons=40), 7)
    segment_catalog.define(opened, parse_segments(yaml.safe_load(SEGMENTS)))
    alert_catalog.define(opened, parse_alerts(ALERTS))
    yield opened
    drop_store(opened)


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_the_sql_of_each_operation_is_the_reviewed_one(name: str, operated: Store) -> None:
    store = Recording(operated)
    OPERATIONS[name](store)  # type: ignore[arg-type]
    # a statement repeated in a row (polling for a mutation to finish) is written once
    statements = [
        s for i, s in enumerate(store.statements) if not i or s != store.statements[i - 1]
    ]
    compare(name, ";\n\n".join(layout(s) for s in statements) + ";\n")

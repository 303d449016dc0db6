"""Properties and traits mean the top-level key, as in the Segment spec; nested values are
reached by their path (storage.paths).

The data follow the Segment e-commerce spec: Order Completed carries a ``products`` array whose
items have their own ``category`` and (as some shops send) ``revenue``, listed before the
order's own keys; traits carry ``company`` (with its own ``country``) before the person's
``country``, and an ``address``. Reading "the first key of that name at any depth", as
``visitParamExtract*`` does, takes the product's or the company's value every time. Events go
through the collector's enrichment and the loader's rows, on the 18.16 server, chDB and the
cluster, and through funnels, breakdowns, segments, the scorecard, campaigns and the summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer.campaigns import CampaignSpec, campaign_return
from analyzer.errors import SpecError
from analyzer.funnels import FunnelSpec, analyze
from analyzer.segments import catalog
from analyzer.segments.definition import DefinitionError, parse_document
from analyzer.segments.refresh import refresh
from analyzer.segments.scorecard import ScorecardSpec, scorecard
from analyzer.summary import summary
from analyzer.vocabulary import Breakdown, Filter, Step
from collector.enrich import RequestInfo, build_event
from loader.decode import COLUMNS, to_row
from storage import migrations
from storage.store import Store
from tests.conftest import WITH_CLUSTER, drop_store, open_store
from tests.helpers import BROWSER

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PEOPLE = [f"c{i}" for i in range(1, 7)]
BUYERS = {"c1": 26.0, "c2": 27.0, "c4": 29.0}  # revenue of each order
COUNTRY = {p: "FR" if i < 3 else "US" for i, p in enumerate(PEOPLE)}
GAMES = {"c1", "c3", "c5"}  # viewed a product of the category Games; the others, Books


def _messages(person: str, i: int) -> list[dict[str, Any]]:
    at = NOW - timedelta(days=3, hours=i)
    traits = {
        "company": {"name": "Acme", "country": "DE", "address": {"country": "DE"}},
        "email": f"{person}@example.com",
        "country": COUNTRY[person],
        "address": {"city": "Lyon" if COUNTRY[person] == "FR" else "Austin"},
    }
    traits["address"]["country"] = COUNTRY[person]
    messages = [
        {
            "type": "page",
            "name": "Home",
            "properties": {"path": "/", "url": "https://shop.example/"},
            "context": {"campaign": {"source": "news", "medium": "email", "name": "spring"}},
        },
        {"type": "identify", "traits": traits},
        {
            "type": "track",
            "event": "Product Viewed",
            "properties": {
                "products": [{"product_id": "p-1", "category": "Toys"}],
                "category": "Games" if person in GAMES else "Books",
            },
        },
    ]
    if person in BUYERS:
        messages.append(
            {
                "type": "track",
                "event": "Order Completed",
                "properties": {
                    "products": [
                        {"product_id": "p-1", "category": "Toys", "price": 19, "revenue": 999}
                    ],
                    "order_id": f"o-{person}",
                    "revenue": BUYERS[person],
                    "currency": "USD",
                    "category": "Store",
                },
            }
        )
    for k, m in enumerate(messages):
        m.update(
            userId=person,
            anonymousId=f"a-{person}",
            messageId=f"{person}-{k}",
            timestamp=(at + timedelta(minutes=k)).isoformat(),
        )
    return messages


def _rows() -> list[tuple[Any, ...]]:
    request = RequestInfo(received_at=NOW, source="web", ip="203.0.113.9", user_agent=BROWSER)
    return [
        to_row(build_event(m, request))
        for i, person in enumerate(PEOPLE)
        for m in _messages(person, i)
    ]


SEGMENTS = {
    "version": 1,
    "segments": [
        {"name": "fr", "rule": {"trait": "country", "eq": "FR"}},
        {"name": "us_address", "rule": {"trait": "address.country", "eq": "US"}},
        {"name": "country_attr", "rule": {"attribute": "country", "eq": "FR"}},
        {"name": "big_spenders", "rule": {"attribute": "revenue", "gt": 26.5}},
        {"name": "acme", "rule": {"trait": "company.name", "eq": "Acme"}},
        {
            "name": "store_buyers",
            "rule": {
                "did": "Order Completed",
                "where": [{"field": "properties.category", "op": "eq", "value": "Store"}],
            },
        },
    ],
}


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def shop(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Store]:
    store = open_store(request.param, request, chdb_path)
    migrations.apply(store)
    rows = [(*row[:-1], 1) for row in _rows()]
    store.insert("events", COLUMNS, rows)
    catalog.define(store, parse_document(SEGMENTS))
    refresh(store, at=NOW)
    yield store
    drop_store(store)


def _spec(*steps: Step, **more: Any) -> FunnelSpec:
    return FunnelSpec(
        steps=steps,
        date_from=NOW - timedelta(days=10),
        date_to=NOW,
        window=timedelta(days=1),
        **more,
    )


def _people(store: Store, spec: FunnelSpec) -> list[int]:
    return [s.people for s in analyze(store, spec).steps]


def test_a_funnel_filter_reads_the_top_level_property(shop: Store) -> None:
    games = Step("Product Viewed", (Filter("properties.category", "eq", "Games"),))
    stores = Step("Order Completed", (Filter("properties.category", "eq", "Store"),))
    assert _people(shop, _spec(games, stores)) == [3, 1]  # c1, c3, c5 viewed; c1 bought
    toys = Step("Product Viewed", (Filter("properties.category", "eq", "Toys"),))
    assert _people(shop, _spec(toys, Step("Order Completed"))) == [0, 0]


def test_nested_values_are_reached_by_their_path(shop: Store) -> None:
    nested = Step("Order Completed", (Filter("properties.products[0].category", "eq", "Toys"),))
    assert _people(shop, _spec(Step("Product Viewed"), nested)) == [6, 3]
    priced = Step("Order Completed", (Filter("properties.products[0].price", "in", ["19"]),))
    assert _people(shop, _spec(Step("Product Viewed"), priced)) == [6, 3]
    broken = Step("Product Viewed", (Filter("properties.a..b", "eq", "x"),))
    with pytest.raises(SpecError, match=r"properties\.<path>"):
        _spec(broken, Step("Order Completed")).validate()


@pytest.mark.parametrize("field", ["person.country", "person.address.country"])
def test_a_breakdown_by_a_trait_reads_the_persons_value(shop: Store, field: str) -> None:
    spec = _spec(Step("Product Viewed"), Step("Order Completed"), breakdown=Breakdown(field))
    groups = {g.value: [s.people for s in g.steps] for g in analyze(shop, spec).breakdown}
    assert groups == {"FR": [3, 2], "US": [3, 1]}


def test_a_breakdown_by_a_property_reads_the_top_level_value(shop: Store) -> None:
    spec = _spec(
        Step("Product Viewed"), Step("Order Completed"), breakdown=Breakdown("properties.category")
    )
    groups = {g.value: [s.people for s in g.steps] for g in analyze(shop, spec).breakdown}
    assert groups == {"Games": [3, 1], "Books": [3, 2]}


def test_segments_read_traits_by_path_and_revenue_at_the_top_level(shop: Store) -> None:
    members: dict[str, set[str]] = {}
    for segment, person in shop.execute(
        f"SELECT segment, person_id FROM {shop.database}.segment_members WHERE segment != ''"
    ):
        members.setdefault(str(segment), set()).add(str(person))
    assert members["fr"] == {"c1", "c2", "c3"}
    assert members["country_attr"] == {"c1", "c2", "c3"}
    assert members["us_address"] == {"c4", "c5", "c6"}
    assert members["big_spenders"] == {"c2", "c4"}  # 27 and 29, not 999
    assert members["acme"] == set(PEOPLE)
    assert members["store_buyers"] == set(BUYERS)
    with pytest.raises(DefinitionError, match="trait path"):
        parse_document(
            {"version": 1, "segments": [{"name": "x", "rule": {"trait": "a[", "eq": 1}}]}
        )


def test_revenue_is_the_orders_in_the_scorecard_campaigns_and_summary(shop: Store) -> None:
    card = scorecard(
        shop, ScorecardSpec(date_from=NOW - timedelta(days=10), date_to=NOW, segments=("fr",))
    )
    fr = next(s for s in card.segments if s.segment == "fr")
    assert fr.revenue == pytest.approx(26.0 + 27.0)
    report = campaign_return(shop, CampaignSpec(date_from=NOW - timedelta(days=10), date_to=NOW))
    news = next(c for c in report.campaigns if c.utm_source == "news")
    assert news.first_touch_revenue == pytest.approx(sum(BUYERS.values()))
    assert summary(shop).revenue == pytest.approx(sum(BUYERS.values()))

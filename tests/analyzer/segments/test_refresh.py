"""Refreshing segments on the ClickHouse server and on chDB, against the plain-Python reference
on generated customer bases where the right membership is known."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import adjusted_rand_score

from analyzer import touchpoints
from analyzer.segments import catalog
from analyzer.segments.definition import DefinitionError, parse_document
from analyzer.segments.refresh import refresh
from storage.store import Store
from tests.analyzer.segments import reference
from tests.analyzer.segments.bases import NOW, customers, load, planted
from tests.conftest import WITH_CLUSTER, drop_store, open_store

pytestmark = pytest.mark.integration

AS_OF_S = int(NOW.timestamp())
RULES: dict[str, Any] = {
    "version": 1,
    "segments": [
        {
            "name": "young",
            "category": "demographic",
            "rule": {"trait": "age_band", "in": ["18-24", "25-34"]},
        },
        {"name": "rich", "rule": {"trait": "income", "gte": 70000}},
        {"name": "mid_income", "rule": {"trait": "income", "between": [20000, 80000]}},
        {"name": "berliners", "category": "geographic", "rule": {"trait": "city", "eq": "Berlin"}},
        {"name": "germans", "category": "geographic", "rule": {"attribute": "country", "eq": "DE"}},
        {"name": "no_city", "rule": {"not": {"trait": "city", "exists": True}}},
        {
            "name": "outdoorsy",
            "category": "psychographic",
            "rule": {"trait": "interests", "matches": "^out"},
        },
        {
            "name": "enterprise",
            "category": "firmographic",
            "rule": {"group_trait": "employees", "gte": 1000},
        },
        {
            "name": "saas",
            "category": "firmographic",
            "rule": {"group_trait": "industry", "eq": "saas"},
        },
        {
            "name": "repeat_buyers",
            "category": "behavioral",
            "rule": {"did": "Order Completed", "at_least": 2, "in_last_days": 60},
        },
        {
            "name": "sale_lookers",
            "rule": {
                "all": [
                    {
                        "did": "Product Viewed",
                        "where": [{"field": "properties.category", "op": "eq", "value": "tech"}],
                    },
                    {"did_not": "Order Completed", "in_last_days": 30},
                ]
            },
        },
        {"name": "few_views", "rule": {"did": "Product Viewed", "at_most": 1}},
        {
            "name": "paid_or_mail",
            "rule": {
                "any": [
                    {"attribute": "first_touch_source", "in": ["google", "facebook"]},
                    {"attribute": "first_touch_source", "eq": "newsletter"},
                ]
            },
        },
        {"name": "direct", "rule": {"attribute": "first_touch_source", "eq": ""}},
        {"name": "mobile_now", "rule": {"attribute": "device", "eq": "mobile"}},
        {"name": "new", "rule": {"attribute": "lifecycle", "eq": "new"}},
        {"name": "dormant", "rule": {"attribute": "lifecycle", "eq": "dormant"}},
        {"name": "returning", "rule": {"attribute": "returning", "eq": 1}},
        {"name": "big_spenders", "category": "value", "rule": {"attribute": "revenue", "gt": 500}},
        {"name": "loyal_3", "rule": {"attribute": "purchases", "gte": 3}},
        {
            "name": "reachable",
            "rule": {
                "all": [{"attribute": "identified", "eq": 1}, {"attribute": "contactable", "eq": 1}]
            },
        },
        {"name": "recent", "rule": {"attribute": "last_seen_days", "lt": 7}},
        # a touchpoint set: a tech product view matches two touchpoints and counts once
        {"name": "engaged", "rule": {"did": "set:engaged", "at_least": 3, "in_last_days": 60}},
    ],
}
SETS: dict[str, list[Any]] = {
    "engaged": [
        {
            "event": "Product Viewed",
            "where": [{"field": "properties.category", "op": "eq", "value": "tech"}],
        },
        "Order Completed",
        "Product Viewed",
    ]
}


@dataclass
class Base:
    store: Store
    events: list[dict[str, Any]]


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def base(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Base]:
    store = open_store(request.param, request, chdb_path)
    events = customers(3, people=300)
    load(store, events, 3)
    yield Base(store, events)
    drop_store(store)


def _members(store: Store, refresh_id: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for segment, person in store.execute(
        f"SELECT segment, person_id FROM {store.database}.segment_members WHERE refresh = %(r)s",
        {"r": refresh_id},
    ):
        out.setdefault(segment, set()).add(person)
    return out


def test_rule_segments_match_the_reference(base: Base) -> None:
    doc = {"version": 1, "touchpoints": [{"name": n, "any_of": t} for n, t in SETS.items()]}
    touchpoints.define(base.store, touchpoints.parse_document(doc))
    catalog.define(base.store, parse_document(RULES))
    report = refresh(base.store, [d["name"] for d in RULES["segments"]], at=NOW)
    assert report.errors == {}
    got = _members(base.store, report.refresh)
    expected = reference.members(base.events, RULES, AS_OF_S, SETS)
    assert report.base == len(expected[""]) > 250
    for d in RULES["segments"]:
        name = d["name"]
        assert got.get(name, set()) == expected[name], name
        assert 0 < len(expected[name]) < len(expected[""]), f"{name} selects nobody or everybody"
    sizes = {s.segment: s.members[s.segment] for s in report.segments}
    assert sizes == {d["name"]: len(expected[d["name"]]) for d in RULES["segments"]}


def test_rfm_scores_and_groups_match_pandas(base: Base) -> None:
    doc = {
        "version": 1,
        "segments": [{"name": "value", "rfm": {"purchase_event": "Order Completed"}}],
    }
    catalog.define(base.store, parse_document(doc))
    report = refresh(base.store, ["value"], at=NOW)
    expected = reference.rfm(base.events, AS_OF_S)
    values = base.store.query_df(
        f"SELECT person_id, recency_days, frequency, monetary FROM {base.store.database}.rfm_values "
        "WHERE refresh = %(r)s ORDER BY person_id",
        {"r": report.refresh},
    ).set_index("person_id")
    assert list(values.index) == sorted(expected.index)
    exp = expected.sort_index()
    assert list(values.recency_days) == list(exp.recency_days)
    assert list(values.frequency) == list(exp.frequency)
    assert [round(v, 6) for v in values.monetary] == list(exp.monetary)
    got = {
        person: segment.split("/", 1)[1]
        for segment, people in _members(base.store, report.refresh).items()
        if segment.startswith("value/")
        for person in people
    }
    assert got == exp.group.to_dict()
    assert len(set(got.values())) >= 6  # the grid is exercised, not one corner of it
    (r,) = report.segments
    assert r.members == {f"value/{g}": n for g, n in exp.group.value_counts().items()}


def test_history_and_versions_are_kept(base: Base) -> None:
    doc = {
        "version": 1,
        "segments": [{"name": "hist", "rule": {"attribute": "last_seen_days", "lt": 20}}],
    }
    assert catalog.define(base.store, parse_document(doc)) == {"hist": 1}
    assert catalog.define(base.store, parse_document(doc)) == {"hist": 1}  # unchanged
    first = refresh(base.store, ["hist"], at=NOW - timedelta(days=10))
    doc["segments"][0]["rule"]["attribute"] = "first_seen_days"
    assert catalog.define(base.store, parse_document(doc)) == {"hist": 2}
    second = refresh(base.store, ["hist"], at=NOW)
    assert second.refresh > first.refresh
    rows = base.store.execute(
        f"SELECT refresh, version, members, base FROM {base.store.database}.segment_refreshes "
        "WHERE segment = 'hist' ORDER BY refresh"
    )
    assert [(r[0], r[1]) for r in rows] == [(first.refresh, 1), (second.refresh, 2)]
    old = _members(base.store, first.refresh)
    expected_old = reference.members(
        base.events,
        {"segments": [{"name": "hist", "rule": {"attribute": "last_seen_days", "lt": 20}}]},
        AS_OF_S - 10 * 86400,
    )
    assert old["hist"] == expected_old["hist"]
    assert old[""] == expected_old[""]
    with pytest.raises(DefinitionError, match="no segment 'nope'"):
        refresh(base.store, ["nope"], at=NOW)


def test_a_definition_clickhouse_cannot_run_never_stops_the_others(
    base: Base, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pattern RE2 refuses, stored before definitions were checked with RE2's rules: the
    refresh reports it and refreshes every other segment of the same pass."""
    good = {"name": "good_one", "rule": {"attribute": "last_seen_days", "lt": 20}}
    bad = {"name": "bad_one", "rule": {"trait": "email", "matches": "^(?!.*@test)"}}
    unknown = {"name": "no_such_set", "rule": {"did": "set:never-defined"}}
    monkeypatch.setattr("analyzer.segments.definition.problem", lambda pattern: "")
    catalog.define(base.store, parse_document({"version": 1, "segments": [bad, good, unknown]}))
    monkeypatch.undo()
    report = refresh(base.store, ["bad_one", "good_one", "no_such_set"], at=NOW)
    assert sorted(report.errors) == ["bad_one", "no_such_set"] and report.errors["bad_one"]
    assert report.errors["no_such_set"].startswith("set:never-defined: no touchpoint set")
    expected = reference.members(base.events, {"segments": [good]}, AS_OF_S)
    assert report.base == len(expected[""])
    assert _members(base.store, report.refresh)["good_one"] == expected["good_one"]
    assert [s.segment for s in report.segments] == ["good_one"]

    # One that passes every check here and still fails on the server: it gets a pass of its
    # own, alone, and the others of its pass are refreshed.
    from analyzer.segments import refresh as module

    compile_rule = module.compile_rule
    failing = {"name": "fails_there", "rule": {"trait": "plan", "eq": "x"}}
    catalog.define(base.store, parse_document({"version": 1, "segments": [failing, good]}))

    def compiled(rule: Any, features: Any) -> str:
        sql = compile_rule(rule, features)
        return "throwIf(1) = 0" if "plan" in str(rule) else sql

    monkeypatch.setattr(module, "compile_rule", compiled)
    report = refresh(base.store, ["fails_there", "good_one"], at=NOW)
    assert list(report.errors) == ["fails_there"], report.errors
    assert _members(base.store, report.refresh)["good_one"] == expected["good_one"]
    assert report.base == len(expected[""])


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def planted_base(
    request: pytest.FixtureRequest, chdb_path: Path
) -> Iterator[tuple[Store, dict[str, str]]]:
    store = open_store(request.param, request, chdb_path)
    events, kinds = planted(4)
    load(store, events, 4)
    yield store, kinds
    drop_store(store)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_clusters_recover_planted_groups(
    planted_base: tuple[Store, dict[str, str]], method: str
) -> None:
    store, kinds = planted_base
    doc = {
        "version": 1,
        "segments": [{"name": f"c_{method}", "clusters": {"method": method, "k": [2, 6]}}],
    }
    catalog.define(store, parse_document(doc))
    report = refresh(store, [f"c_{method}"], at=NOW)
    (r,) = report.segments
    assert r.details["k"] == 3, r.details["scores"]
    got = {
        person: segment
        for segment, people in _members(store, report.refresh).items()
        if segment.startswith(f"c_{method}/")
        for person in people
    }
    assert set(got) == set(kinds)  # everyone gets exactly one cluster
    persons = sorted(kinds)
    assert adjusted_rand_score([kinds[p] for p in persons], [got[p] for p in persons]) > 0.95
    buyers = [c for c in r.details["clusters"] if "purchases high" in c["description"]]
    assert len(buyers) == 1, r.details["clusters"]


def test_propensity_reports_held_out_quality(planted_base: tuple[Store, dict[str, str]]) -> None:
    store, kinds = planted_base
    doc = {
        "version": 1,
        "segments": [
            {
                "name": "buyers_next",
                "propensity": {"target": "purchase", "horizon_days": 30, "top_share": 0.3},
            }
        ],
    }
    catalog.define(store, parse_document(doc))
    report = refresh(store, ["buyers_next"], at=NOW)
    (r,) = report.segments
    quality = r.details["held_out"]
    assert quality["tested_on"] > 50 and quality["auc"] > 0.8, quality
    scores = dict(
        store.execute(
            f"SELECT person_id, score FROM {store.database}.propensity_scores WHERE refresh = %(r)s",
            {"r": report.refresh},
        )
    )
    assert set(scores) == set(kinds) and all(0 <= s <= 1 for s in scores.values())
    members = _members(store, report.refresh)["buyers_next"]
    threshold = r.details["threshold"]
    assert members == {p for p, s in scores.items() if s >= threshold - 1e-9}
    share_buyers = sum(kinds[p] == "buyer" for p in members) / len(members)
    assert share_buyers > 0.8  # the people who keep buying are the likely buyers

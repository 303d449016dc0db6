"""Definitions parse into what they say, and every mistake is named by its place."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer.segments import rfm
from analyzer.segments.definition import (
    Condition,
    DefinitionError,
    Logic,
    load,
    parse_document,
)

GOOD = """\
version: 1
segments:
  - name: young_urban
    category: demographic
    description: under 35 in a city
    refresh: 6h
    rule:
      all:
        - {trait: age_band, in: ["18-24", 25]}
        - not: {trait: city, eq: ""}
        - any:
            - {did: Order Completed, at_least: 2, in_last_days: 90, where: [{field: properties.currency, op: eq, value: EUR}]}
            - {did_not: Product Viewed}
            - {attribute: revenue, between: [10, 99.5]}
  - name: value
    rfm: {purchase_event: Purchase, revenue_property: total}
  - name: groups
    clusters: {method: gmm, k: 4}
  - name: churn
    propensity: {target: churn, horizon_days: 30, top_share: 0.2}
"""


def test_a_document_parses_into_what_it_says(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(GOOD)
    young, value, groups, churn = load(file)
    assert (young.kind, young.category, young.refresh) == (
        "rule",
        "demographic",
        timedelta(hours=6),
    )
    assert isinstance(young.rule, Logic) and young.rule.op == "all"
    first, negated, either = young.rule.rules
    assert first == Condition("trait", "age_band", "in", ("18-24", "25"))
    assert isinstance(negated, Logic) and negated.op == "not"
    assert isinstance(either, Logic)
    did, did_not, between = either.rules
    assert isinstance(did, Condition) and (did.at_least, did.at_most, did.in_last_days) == (
        2,
        None,
        90,
    )
    assert did.filters[0].field == "properties.currency"
    assert isinstance(did_not, Condition) and (did_not.subject, did_not.at_most) == ("did", 0)
    assert between == Condition("attribute", "revenue", "between", (10.0, 99.5))
    assert (value.kind, value.purchase_event, value.category) == ("rfm", "Purchase", "value")
    assert value.rfm is not None and value.rfm.revenue_property == "total"
    assert groups.clusters is not None and (groups.clusters.k_min, groups.clusters.k_max) == (4, 4)
    assert churn.propensity is not None and churn.propensity.threshold is None
    assert churn.propensity.top_share == 0.2
    as_json = tmp_path / "s.json"
    import yaml

    as_json.write_text(json.dumps(yaml.safe_load(GOOD)))
    assert [d.name for d in load(as_json)] == ["young_urban", "value", "groups", "churn"]


def _doc(segment: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "segments": [{"name": "s", **segment}]}


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ({"rule": {"trait": "a", "eq": "x"}, "colour": 1}, "segments[0].colour: unknown key"),
        ({"rule": {"trait": "a"}}, "segments[0].rule: one operator with trait"),
        ({"rule": {"trait": "a", "eq": "x", "neq": "y"}}, "segments[0].rule: one operator"),
        ({"rule": {"trait": "a[", "eq": "x"}}, "segments[0].rule.trait: a trait path"),
        ({"rule": {"trait": "a", "in": []}}, "segments[0].rule.in: in takes a list of 1 to 1000"),
        ({"rule": {"trait": "a", "between": [5, 1]}}, "low must not be above high"),
        ({"rule": {"trait": "a", "exists": "yes"}}, "exists takes true or false"),
        ({"rule": {"attribute": "device", "gt": 3}}, "segments[0].rule.gt: device is text"),
        (
            {"rule": {"attribute": "revenue", "matches": "x"}},
            "segments[0].rule.matches: revenue is a number",
        ),
        ({"rule": {"did": "", "at_least": 1}}, "segments[0].rule.did: an event name"),
        ({"rule": {"did": "Buy", "at_least": 3, "at_most": 1}}, "at_least is above at_most"),
        ({"rule": {"did_not": "Buy", "at_least": 1}}, "did_not takes no at_least"),
        (
            {"rule": {"did": "Buy", "where": [{"field": "nope", "op": "eq", "value": "x"}]}},
            "segments[0].rule.where[0].field",
        ),
        ({"rule": {"all": []}}, "segments[0].rule.all: a list of 1 to 50 rules"),
        (  # Python's re takes lookahead; ClickHouse's RE2 does not
            {"rule": {"trait": "email", "matches": "^(?!.*@test)"}},
            "segments[0].rule.matches: not a regular expression ClickHouse runs (RE2 syntax)",
        ),
        ({"rule": {"trait": "a", "eq": 1}, "include_bots": "yes"}, "include_bots: true or false"),
        ({"rule": {"all": [{"trait": "a", "eq": 1}], "any": []}}, "all stands alone"),
        (
            {
                "rule": {
                    "not": {
                        "not": {
                            "not": {
                                "not": {
                                    "not": {
                                        "not": {"not": {"not": {"not": {"trait": "a", "eq": 1}}}}
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "nest at most 8",
        ),
        ({"rule": {}, "rfm": {}}, "exactly one of rule, rfm, clusters, propensity"),
        ({}, "exactly one of rule, rfm, clusters, propensity"),
        (
            {"rule": {"trait": "a", "eq": "x"}, "category": "astrology"},
            "segments[0].category: 'astrology'",
        ),
        (
            {"rule": {"trait": "a", "eq": "x"}, "refresh": "soon"},
            "segments[0].refresh: 'soon' is not a duration",
        ),
        ({"clusters": {"k": [1, 3]}}, "segments[0].clusters.k[0]: a whole number from 2 to 20"),
        (
            {"clusters": {"method": "dbscan"}},
            "segments[0].clusters.method: 'dbscan' is not one of kmeans, gmm",
        ),
        (
            {"propensity": {"threshold": 1.5}},
            "segments[0].propensity.threshold: a share between 0 and 1",
        ),
        ({"propensity": {"threshold": 0.5, "top_share": 0.1}}, "threshold or top_share, not both"),
        (
            {"rfm": {"revenue_property": "a..b"}},
            "segments[0].rfm.revenue_property: a property path",
        ),
    ],
)
def test_mistakes_are_named_by_their_place(segment: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_document(_doc(segment))
    assert message in str(caught.value)


def test_document_level_mistakes(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="version: this Journey reads format version 1"):
        parse_document({"segments": []})
    with pytest.raises(DefinitionError, match="segments: a list of 1 to 500"):
        parse_document({"version": 1, "segments": []})
    twice = {"version": 1, "segments": [{"name": "a", "rfm": {}}, {"name": "a", "rfm": {}}]}
    with pytest.raises(DefinitionError, match=r"segments\[1\].name: 'a' is defined twice"):
        parse_document(twice)
    with pytest.raises(DefinitionError, match=r"segments\[0\].name: 1 to 64 lower-case"):
        parse_document({"version": 1, "segments": [{"name": "Bad Name", "rfm": {}}]})
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DefinitionError, match="bad.json: not valid json"):
        load(bad)
    with pytest.raises(DefinitionError, match="cannot read"):
        load(tmp_path / "missing.yaml")


def test_rfm_thresholds_give_the_percent_rank_quintile() -> None:
    rng = random.Random(7)
    for _ in range(200):
        values = [
            rng.choice([1, 1, 1, 2, 2, 3, 5, 8, 13, rng.randint(0, 100)])
            for _ in range(rng.randint(1, 60))
        ]
        counts = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        n = len(values)
        for higher in (True, False):
            steps = rfm.thresholds([(float(v), c) for v, c in counts.items()], higher)
            for v in values:
                worse = sum(1 for x in values if (x < v if higher else x > v))
                score = 1 + sum(1 for t in steps if (v >= t if higher else v <= t))
                assert score == 1 + (5 * worse) // n


def test_the_rfm_grid_names_every_cell() -> None:
    names = {rfm.group_of(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert names == set(rfm.GROUPS)
    assert rfm.group_of(5, 5) == "Champions" and rfm.group_of(1, 1) == "Lost"
    assert rfm.group_of(1, 5) == "Can't lose" and rfm.group_of(5, 1) == "New"

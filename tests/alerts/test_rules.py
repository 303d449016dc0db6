"""Alert rule documents: a valid one parses whole; every mistake names its place."""

from __future__ import annotations

import copy
from datetime import time, timedelta
from typing import Any

import pytest

from alerts.rules import RuleError, parse_document

VALID: dict[str, Any] = {
    "version": 1,
    "alerts": [
        {
            "name": "checkout",
            "funnel": {
                "steps": [
                    "Product Viewed",
                    {
                        "event": "Order Completed",
                        "where": [{"field": "properties.plan", "op": "eq", "value": "pro"}],
                    },
                ],
                "window": "2h",
                "mode": "strict",
            },
            "scope": {"each": {"field": "utm_source"}},
            "step": 2,
            "every": "30m",
            "lookback": "6h",
            "condition": {"significant": 0.05, "baseline": {"previous": 4}},
            "min_people": 30,
            "cooldown": "2h",
            "quiet_hours": {"from": "22:00", "to": "07:00", "timezone": "Europe/Berlin"},
            "channels": [
                {"webhook": "https://hooks.example.com/x"},
                {"email": "ops@example.com"},
                {"log": True},
            ],
        }
    ],
}


def test_a_valid_rule_parses_whole() -> None:
    (rule,) = parse_document(VALID)
    assert rule.steps[1].filters[0].value == "pro" and rule.mode == "strict"
    assert rule.scope == "each" and rule.breakdown is not None
    assert rule.breakdown.field == "utm_source"
    assert (rule.every, rule.lookback, rule.window) == (
        timedelta(minutes=30),
        timedelta(hours=6),
        timedelta(hours=2),
    )
    assert rule.condition.baseline_shifts(rule.lookback) == [
        timedelta(hours=6 * i) for i in (1, 2, 3, 4)
    ]
    assert rule.quiet_hours is not None and rule.quiet_hours.start == time(22, 0)
    assert [c.kind for c in rule.channels] == ["webhook", "email", "log"]
    assert rule.what == "Order Completed from Product Viewed"


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    target: Any = doc["alerts"][0]
    *parents, last = path.split(".")
    for p in parents:
        target = target[int(p)] if p.isdigit() else target[p]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("name", "Checkout!", "alerts[0].name: 1 to 64"),
        ("funnel.steps", ["Only one"], "alerts[0].funnel.steps: a list of 2 to 10 steps"),
        ("funnel.window", "3 days", "alerts[0].funnel.window: '3 days' is not a duration"),
        ("funnel.mode", "loose", "alerts[0].funnel.mode: 'loose' is not one of"),
        (
            "funnel.steps.1.where",
            [{"field": "password", "op": "eq", "value": "x"}],
            "where[0].field",
        ),
        ("step", 5, "alerts[0].step: a step number from 2 to 2"),
        ("every", "10s", "alerts[0].every: from 1m to 7d"),
        ("lookback", "90d", "alerts[0].lookback: from 5m to 31d"),
        ("condition", {"below": 1.5}, "alerts[0].condition.below: a share between 0 and 1"),
        ("condition", {"drop_percent": 20}, "alerts[0].condition.baseline: {same_weekday: N}"),
        (
            "condition",
            {"drop_percent": 120, "baseline": {"previous": 2}},
            "condition.drop_percent: a percentage",
        ),
        (
            "condition",
            {"significant": 0.5, "baseline": {"same_weekday": 4}},
            "condition.significant: a significance level of at most 0.2",
        ),
        (
            "condition",
            {"significant": 0.01, "baseline": {"same_weekday": 40}},
            "baseline.same_weekday: a number of windows from 1 to 12",
        ),
        ("condition", {"above": 0.3}, "alerts[0].condition.above: unknown key"),
        ("condition", KeyError, "alerts[0].condition: missing"),
        ("scope", {"segment": "Bad Name"}, "alerts[0].scope"),
        ("scope", {"each": {"field": "password"}}, "alerts[0].scope.each.field"),
        ("min_people", 0, "alerts[0].min_people: a whole number from 1"),
        ("quiet_hours", {"from": "25:00", "to": "07:00"}, "quiet_hours.from: '25:00'"),
        ("quiet_hours", {"from": "22:00", "to": "07:00", "timezone": "Mars/Olympus"}, "timezone"),
        ("channels", [], "alerts[0].channels: a list of 1 to 10 channels"),
        ("channels", [{"sms": "+1"}], "alerts[0].channels[0].sms: unknown key"),
        ("channels", [{"webhook": "ftp://x.example.com"}], "channels[0].webhook: 'ftp"),
        ("channels", [{"webhook": "http://10.1.2.3/x"}], "10.1.2.3 is a private or local address"),
        ("channels", [{"webhook": "http://localhost:8080/x"}], "a loopback host"),
        ("channels", [{"webhook": "https://u:p@hooks.example.com/"}], "no credentials"),
        ("channels", [{"email": ["not an address"]}], "channels[0].email[0]"),
        ("channels", [{"log": "yes"}], "channels[0].log: true"),
        ("colour", "red", "alerts[0].colour: unknown key"),
    ],
)
def test_mistakes_name_their_place(path: str, value: Any, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_document(_with(path, value))
    assert message in str(caught.value)


def test_document_level_mistakes() -> None:
    with pytest.raises(RuleError, match="version: this Journey reads format version 1"):
        parse_document({"version": 2, "alerts": []})
    twice = copy.deepcopy(VALID)
    twice["alerts"].append(copy.deepcopy(VALID["alerts"][0]))
    with pytest.raises(RuleError, match=r"alerts\[1\]\.name: 'checkout' is defined twice"):
        parse_document(twice)
    with pytest.raises(RuleError, match="a document"):
        parse_document(["not", "an", "object"])

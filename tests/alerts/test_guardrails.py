"""An experiment's guardrails watched by an alert rule, on the ClickHouse server and chDB: a
variant significantly worse than the control fires through the alert channels, for the segment
where it is worse and not elsewhere, once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerts import catalog
from alerts.channels import Channels
from alerts.engine import Engine, backtest
from alerts.rules import RuleError, parse_document
from analyzer.experiments import catalog as experiments
from analyzer.experiments.definition import parse_document as parse_experiments
from core.settings import Settings
from storage.store import Store
from tests.alerts.receivers import webhook_receiver
from tests.analyzer.experiments.test_analysis import END, START, load, random_log

pytestmark = pytest.mark.integration

# The log's offer makes VIPs order more: "more orders is worse" makes it a harmful guardrail.
EXPERIMENT = {
    "key": "vip-offer",
    "segments": ["vip", "new"],
    "variants": [{"name": "holdout"}, {"name": "offer"}],
    "metric": {"name": "orders", "converts": ["Product Added", "Order Completed"]},
    "guardrails": [
        {"name": "orders-up", "converts": ["Product Added", "Order Completed"], "worse": "higher"},
        {"name": "revenue", "revenue": {"event": "Order Completed"}},
    ],
    "start": START.isoformat(),
    "end": END.isoformat(),
}


def test_a_guardrail_worse_in_a_variant_fires_once_where_it_is_worse(
    store: Store, settings: Settings
) -> None:
    load(store, random_log(8, persons=1500), 8)
    experiments.define(store, parse_experiments({"version": 1, "experiments": [EXPERIMENT]}))
    with webhook_receiver() as hook:
        rule = {
            "name": "offer-guardrails",
            "experiment": "vip-offer",
            "condition": {"significant": 0.01},
            "min_people": 100,
            "channels": [{"webhook": hook.url}, {"log": True}],
        }
        catalog.define(store, parse_document({"version": 1, "alerts": [rule]}, allow_private=True))
        engine = Engine(store, Channels(settings.with_overrides(alert_allow_private=True)))
        (first,) = engine.check(at=END + timedelta(days=3))
        (again,) = engine.check(at=END + timedelta(days=4))
    assert first.error == "" and again.error == ""
    outcome = {s.scope: s.verdict.outcome for s in first.scopes}
    assert outcome == {
        "orders-up/(all)/offer": "breach",
        "orders-up/vip/offer": "breach",
        "orders-up/new/offer": "ok",
        "revenue/(all)/offer": "ok",  # more revenue is better: never harmful here
        "revenue/vip/offer": "ok",
        "revenue/new/offer": "ok",
    }
    fired = sorted(m["alert"]["scope"] for m in hook.received)
    assert fired == ["orders-up/(all)/offer", "orders-up/vip/offer"]  # once: still firing
    text = next(m["text"] for m in hook.received if m["alert"]["scope"].startswith("orders-up/vip"))
    assert text.startswith("[FIRING] offer-guardrails (orders-up/vip/offer): experiment vip-offer")
    assert "in the control, p = " in text


def test_a_rule_on_an_experiment_is_checked_as_written() -> None:
    def rule(**changes: object) -> dict[str, object]:
        written = {
            "name": "g",
            "experiment": "vip-offer",
            "condition": {"significant": 0.01},
            "channels": [{"log": True}],
            **changes,
        }
        return {"version": 1, "alerts": [written]}

    (parsed,) = parse_document(rule())
    assert parsed.experiment == "vip-offer" and parsed.what.endswith("experiment vip-offer")
    for changes, place in (
        ({"funnel": {"steps": ["A", "B"]}}, "alerts[0].funnel"),
        ({"condition": {"below": 0.1}}, "alerts[0].condition"),
        ({"experiment": "Not A Key"}, "alerts[0].experiment"),
        ({"condition": {"significant": 0.5}}, "alerts[0].condition.significant"),
    ):
        with pytest.raises(RuleError, match=f"^{re.escape(place)}"):
            parse_document(rule(**changes))
    with pytest.raises(RuleError, match="not backtested"):
        backtest(None, parsed, END, END + timedelta(days=1))  # type: ignore[arg-type]

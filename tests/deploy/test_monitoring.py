"""deploy/monitoring: the Grafana dashboard and the Prometheus alerting rules name only metrics
Journey's processes serve (core/metrics.py), and every chart's axis starts at zero."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from core import metrics

MONITORING = Path(__file__).parents[2] / "deploy" / "monitoring"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def served() -> set[str]:
    """Every sample name the processes' metric families expose."""
    for family in (metrics.collector, metrics.loader, metrics.api, metrics.alerts):
        family()
    metrics.segments()
    names = {"journey_collector_spool_bytes"}  # read at scrape time (collector/app.py)
    for family in REGISTRY.collect():
        if family.name.startswith("journey_"):
            names |= {family.name, *(family.name + s for s in SUFFIXES)}
    return names


def named(expr: str) -> set[str]:
    return set(re.findall(r"\bjourney_[a-z_]+", expr))


def test_the_dashboard_charts_only_served_metrics_from_zero() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    known = served()
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["fieldConfig"]["defaults"]["min"] == 0, panel["title"]
        for target in panel["targets"]:
            assert named(target["expr"]) and named(target["expr"]) <= known, target["expr"]


def test_the_alerting_rules_name_only_served_metrics() -> None:
    (group,) = yaml.safe_load((MONITORING / "prometheus-rules.yml").read_text())["groups"]
    known = served()
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    assert {"JourneyLoaderLagHigh", "JourneySpoolGrowing", "JourneyDeadLetterRateHigh"} <= set(
        alerts
    )
    for rule in alerts.values():
        assert named(rule["expr"]) and named(rule["expr"]) <= known, rule["alert"]

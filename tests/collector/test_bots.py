"""Bots are out of every analysis, and in it when asked.

Real senders through the whole pipeline (collector, Kafka, loader, ClickHouse): people in three
real browsers' user agents and a server-side user through the real segment-analytics-python
SDK; beside them Googlebot, bingbot and a headless Chromium (as their user agents say, running
the snippet as crawlers do), ``curl`` itself and ``python-requests`` itself. The bots go the
whole funnel from a source of their own (``crawl``) and see a page nobody else does. No report
shows them unless it is asked to include bots; then every one does.
(A real headless Chromium is flagged in tests/collector/test_snippet_browser.py.)
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from alerts.engine import Measure, cohort
from alerts.rules import parse_rule
from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from reports.analyses import event_names, run
from reports.params import Params
from tests.collector.conftest import KEY, Pipeline
from tests.collector.test_agent import (
    BINGBOT,
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    GOOGLEBOT,
    HEADLESS_CHROMIUM,
    SAFARI_IPHONE,
)

FUNNEL = ["Product Viewed", "Product Added", "Order Completed"]
START = datetime.now(UTC) - timedelta(days=2)
PEOPLE = 4  # three browsers and one server-side SDK user; three of them buy
BOTS = 5


def _journey(anonymous_id: str, source: str, buys: bool, bot: bool) -> list[dict[str, Any]]:
    """A visit: the home page, a product viewed and added, and (if ``buys``) the order."""
    at = START + timedelta(minutes=len(anonymous_id) % 7)
    pages = ["/", "/bot-trap"] if bot else ["/"]
    events: list[dict[str, Any]] = [
        {"type": "page", "name": p, "properties": {"path": p, "url": f"https://shop.example{p}"}}
        for p in pages
    ]
    events += [{"type": "track", "event": e} for e in FUNNEL[: 3 if buys else 2]]
    if bot:
        events.append({"type": "track", "event": "Crawled"})
    for i, e in enumerate(events):
        e.update(
            anonymousId=anonymous_id,
            messageId=str(uuid.uuid4()),
            timestamp=(at + timedelta(minutes=i)).isoformat(),
            context={"campaign": {"source": source, "medium": "web", "name": "spring"}},
        )
    return events


def _post(events: list[dict[str, Any]], agent: str, snippet: bool, pipe: Pipeline) -> None:
    """As a browser running the snippet would (or, ``snippet=False``, a script posting by hand
    with ``agent`` as its User-Agent, None for requests' own)."""
    if snippet:
        for e in events:
            e["context"]["library"] = {"name": "journey.js", "version": "1.2.0"}
    headers = {"User-Agent": agent} if agent else {}
    answer = requests.post(
        f"{pipe.collector}/v1/batch", json={"batch": events}, auth=(KEY, ""), headers=headers
    )
    assert answer.status_code == 200, answer.text


def _curl(events: list[dict[str, Any]], pipe: Pipeline) -> None:
    done = subprocess.run(
        ["curl", "-sS", "-f", "-u", f"{KEY}:", "-H", "Content-Type: application/json"]
        + ["--data-binary", json.dumps({"batch": events}), f"{pipe.collector}/v1/batch"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr


def _sdk_user(pipe: Pipeline) -> None:
    from segment.analytics import Client

    errors: list[str] = []
    client = Client(KEY, host=pipe.collector, on_error=lambda e, b: errors.append(str(e)))
    for i, name in enumerate(FUNNEL):
        client.track(
            user_id="server-user",
            event=name,
            timestamp=START + timedelta(minutes=i),
            context={"campaign": {"source": "news", "medium": "email", "name": "spring"}},
        )
    client.flush()
    client.join()
    assert errors == []


@pytest.fixture
def traffic(pipeline: Pipeline) -> Pipeline:
    browsers = [(CHROME_WINDOWS, "ads", True), (SAFARI_IPHONE, "ads", True)]
    browsers.append((FIREFOX_LINUX, "news", False))
    for agent, source, buys in browsers:
        _post(_journey(f"person-{uuid.uuid4()}", source, buys, False), agent, True, pipeline)
    _sdk_user(pipeline)
    for agent in (GOOGLEBOT, BINGBOT, HEADLESS_CHROMIUM):
        _post(_journey(f"bot-{uuid.uuid4()}", "crawl", True, True), agent, True, pipeline)
    _curl(_journey(f"bot-{uuid.uuid4()}", "crawl", True, True), pipeline)
    _post(_journey(f"bot-{uuid.uuid4()}", "crawl", True, True), "", False, pipeline)
    expected = 3 * 3 + 1 * 2 + 3 + BOTS * 6
    events = pipeline.wait_events(expected)
    assert len(events) == expected
    by_visitor: dict[str, set[str]] = {}
    for e in events:
        by_visitor.setdefault(e["anonymous_id"] or e["user_id"], set()).add(e["device_type"])
    kinds = {v: kinds for v, kinds in by_visitor.items()}
    assert sum(1 for v, k in kinds.items() if k == {"bot"}) == BOTS, kinds
    assert sum(1 for v, k in kinds.items() if "bot" not in k) == PEOPLE, kinds
    assert kinds["server-user"] != {"bot"}  # an SDK posting through requests is not a bot
    return pipeline


def _report(pipe: Pipeline, report: str, bots: bool, **given: Any) -> Any:
    return run(pipe.store, report, Params.of(**given, include_bots=bots)).data


def test_bots_appear_in_no_report_unless_asked(traffic: Pipeline) -> None:
    for bots in (False, True):
        check_reports(traffic, bots)


def check_reports(pipe: Pipeline, bots: bool) -> None:
    people = PEOPLE + (BOTS if bots else 0)
    buyers = 3 + (BOTS if bots else 0)

    funnel = _report(pipe, "funnel", bots, step=FUNNEL)
    assert [s["people"] for s in funnel["steps"]] == [people, people, buyers]
    by_source = _report(pipe, "funnel", bots, step=FUNNEL, breakdown="utm_source")
    assert ("crawl" in json.dumps(by_source)) is bots

    trend = _report(pipe, "funnel", bots, step=FUNNEL, trend="day")
    assert sum(p["entered"] for p in trend) == people

    paths = _report(pipe, "paths", bots, kind="page")
    assert ("/bot-trap" in json.dumps(paths)) is bots

    pain = _report(pipe, "painpoints", bots, step=FUNNEL, segment="utm_source=crawl")
    assert pain["people"] == (BOTS if bots else 0)

    retention = _report(
        pipe, "retention", bots, start_event="Product Viewed", return_event="Product Added"
    )
    assert sum(c["people"] for c in retention["cohorts"]) == people

    lifecycle = _report(pipe, "lifecycle", bots, event="Product Viewed", period="day")
    assert sum(p["new"] for p in lifecycle) == people

    names = event_names(pipe.store, Params.of(include_bots=bots)).data
    assert ("Crawled" in {e["event"] for e in names}) is bots

    campaigns = _report(pipe, "campaigns", bots)
    assert ("crawl" in json.dumps(campaigns)) is bots

    # segments: a definition counts bots only when it says so; the scorecard follows
    catalog.define(  # the same definitions again: a no-op on the second round
        pipe.store,
        parse_document(
            {
                "version": 1,
                "segments": [
                    {"name": "viewers", "rule": {"did": "Product Viewed"}},
                    {
                        "name": "viewers_and_bots",
                        "rule": {"did": "Product Viewed"},
                        "include_bots": True,
                    },
                ],
            }
        ),
    )
    refreshed = refresh(pipe.store)
    members = {r.segment: sum(r.members.values()) for r in refreshed.segments}
    assert members == {"viewers": PEOPLE, "viewers_and_bots": PEOPLE + BOTS}
    assert refreshed.base == PEOPLE
    segment = "viewers_and_bots" if bots else "viewers"
    card = _report(pipe, "scorecard", bots, segment=segment, step=FUNNEL)
    assert {s["segment"]: s["people"] for s in card["segments"]} == {
        "(all)": people,
        segment: people,
    }

    # alerts: the rule's funnel counts who entered it
    rule = parse_rule(
        {
            "name": "orders",
            "funnel": {"steps": FUNNEL, "window": "1h", "include_bots": bots},
            "condition": {"below": 0.5},
            "lookback": "7d",
            "channels": [{"log": True}],
        },
        "alerts[0]",
    )
    counts = Measure(pipe.store, rule).window(*cohort(rule, datetime.now(UTC)))
    assert (counts["all"].entered, counts["all"].converted) == (people, buyers)

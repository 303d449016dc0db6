"""HTML reports: self-contained, and data from events can never become markup or script."""

from __future__ import annotations

import json
import re

from reports.analyses import Result
from reports.html import journey_map_figures, page

HOSTILE = "</script><script>alert(1)</script><b>"


def _funnel() -> Result:
    step = {
        "step": 1,
        "event": HOSTILE,
        "people": 10,
        "dropped": 4,
        "conversion_from_start": 1.0,
        "conversion_from_previous": 1.0,
        "median_seconds_from_previous": None,
        "p90_seconds_from_previous": None,
    }
    second = {
        **step,
        "step": 2,
        "event": "Buy",
        "people": 6,
        "dropped": 0,
        "conversion_from_start": 0.6,
        "conversion_from_previous": 0.6,
        "median_seconds_from_previous": 90.0,
        "p90_seconds_from_previous": 300.0,
    }
    data = {
        "steps": [step, second],
        "excluded": 0,
        "time_to_convert": [],
        "breakdown": [{"value": HOSTILE, "steps": [step, second]}],
        "breakdown_values": 1,
    }
    return Result(
        "funnel",
        f"Funnel: {HOSTILE}",
        data,
        [{"event": HOSTILE, "people": 10}],
        {"step": [HOSTILE, "Buy"]},
    )


def test_event_names_cannot_break_out_of_the_page() -> None:
    text = page("Report " + HOSTILE, [_funnel()])
    assert "<script>alert(1)" not in text and "<b>" not in text
    assert text.count("<script>") == 2  # plotly.js and the drawing code, nothing else runs
    blocks = re.findall(r"class='journey-result'[^>]*>(.*?)</script>", text, re.S)
    assert json.loads(blocks[0].replace("<\\/", "</"))["steps"][0]["event"] == HOSTILE


def test_the_page_needs_nothing_from_the_network() -> None:
    text = page("Report", [_funnel()])
    assert not re.search(r"<script[^>]+src=|<link |<img ", text)
    assert "Plotly" in text and len(text) > 1_000_000  # plotly.js is inside


def test_chart_labels_are_plain_text_for_plotly() -> None:
    """plotly.js draws <a href>, <b> and style in labels: event data must not become a link."""
    from reports.html import figures

    link = '<a href="https://evil.example">Buy</a>'
    result = _funnel()
    for steps in (result.data["steps"], result.data["breakdown"][0]["steps"]):
        steps[1]["event"] = link
    result.data["breakdown"][0]["value"] = "<b style='color:red'>vip</b>"
    dumped = json.dumps([json.loads(f.to_json()) for f in figures(result)])
    assert "<a href" not in dumped and "<b style" not in dumped  # (our own templates have <br>)
    assert r"&lt;a href=\"https://evil.example\"&gt;Buy&lt;/a&gt;" in dumped
    assert "&lt;b style='color:red'&gt;vip&lt;/b&gt;" in dumped


def test_every_value_axis_starts_at_zero_and_shares_read_as_percentages() -> None:
    from reports.html import figures

    result = _funnel()
    drawn = figures(result)
    assert drawn
    for figure in drawn:
        assert figure.layout.yaxis.rangemode == "tozero", figure.layout.title.text
        assert figure.layout.yaxis.type != "log"
    result.rows = [{"step": "Buy", "conversion_from_start": 0.6, "p_value": 0.031}]
    text = page(result.title, [result])
    assert "<td>60.0%</td>" in text and "<td>0.031</td>" in text


def test_a_stage_nobody_entered_before_gets_no_change_bar() -> None:
    """Against a previous period in which nobody reached the stage before it, a stage has no
    change (null) and the change chart draws no bar for it, rather than +34 % against 0 %."""

    def stage(n: int, people: int, change: float | None) -> dict[str, object]:
        return {"stage": n, "people": people, "conversion_from_previous": 0.5,
                "change": change, "significant": False}  # fmt: skip

    data = {
        "stages": ["View", "Cart", "Buy"],
        "groups": [
            {"value": "(all)", "stalls_at": 2,
             "stages": [stage(1, 10, None), stage(2, 5, 0.1), stage(3, 2, None)]},
        ],
    }  # fmt: skip
    reach, change = journey_map_figures(data)
    (bars,) = change.data
    assert list(bars.x) == ["2. Cart"] and list(bars.y) == [0.1]
    assert list(reach.data[0].y) == [10, 5, 2]

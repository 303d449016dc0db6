"""Self-contained HTML reports with charts (Plotly): one file that opens anywhere, offline.

Each result becomes a section: its charts, its evidence where it has some, and its table.
Figures are written as JSON in ``<script type="application/json" class="journey-figure">``
blocks and drawn by the embedded plotly.js, and the result itself is kept in a
``journey-result`` block, so what a chart shows can be checked against the data (the tests do,
against the API's JSON).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import plotly.graph_objects as go

from reports.analyses import Result
from reports.output import cell, duration_text

MAX_TABLE_ROWS = 200
COLORS = ("#3b6fd4", "#e4572e", "#29a36a", "#f2a541", "#8a5cd0", "#17a2b8", "#c44d8a", "#6c757d")


@cache
def plotly_js() -> str:
    """plotly.js as shipped with the plotly package (no network at view time)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    layout: dict[str, Any] = {
        "title": title,
        "template": "plotly_white",
        "colorway": list(COLORS),
        "margin": {"l": 60, "r": 30, "t": 60, "b": 60},
        "height": 420,
    }
    fig.update_layout(**layout)
    fig.update_layout(**extra)  # merged into the defaults, an axis's settings included
    # Every value axis starts at zero, so a bar's length is its value: 2.4 min beside 3.1 min
    # must not look like a sliver beside a bar (a log axis, or Plotly's auto range for lines,
    # would start where the data does).
    horizontal = any(getattr(trace, "orientation", None) == "h" for trace in fig.data)
    if horizontal:
        fig.update_xaxes(rangemode="tozero")
    else:
        fig.update_yaxes(rangemode="tozero")
    return fig


def funnel_figures(data: dict[str, Any]) -> list[go.Figure]:
    """People per step for everyone and per breakdown value (conversion from start on each
    bar), median time from the previous step, and the histogram of time to convert."""
    groups = [("(all)", data["steps"])] + [(g["value"], g["steps"]) for g in data["breakdown"]]
    steps = [f"{s['step']}. {s['event']}" for s in data["steps"]]
    bars = go.Figure()
    times = go.Figure()
    for name, rows in groups:
        bars.add_bar(
            name=name,
            x=steps,
            y=[s["people"] for s in rows],
            text=[_pct(s["conversion_from_start"]) for s in rows],
            textposition="outside",
            customdata=[[s["conversion_from_previous"], s["dropped"]] for s in rows],
            hovertemplate="%{x}<br>%{y} people, %{text} from start<br>"
            "%{customdata[0]:.1%} from previous, %{customdata[1]} dropped<extra>"
            + html.escape(name)
            + "</extra>",
        )
        times.add_bar(
            name=name,
            x=steps[1:],
            y=[s["median_seconds_from_previous"] for s in rows[1:]],
            text=[duration_text(s["median_seconds_from_previous"]) for s in rows[1:]],
            textposition="outside",
        )
    figures = [
        _layout(bars, "People per step (conversion from the first step)", barmode="group"),
        _layout(
            times,
            "Median time from the previous step",
            barmode="group",
            yaxis={"title": "seconds"},
        ),
    ]
    if data["time_to_convert"]:
        whole = data["time_to_convert"][-1]
        hist = go.Figure(
            go.Bar(
                x=[
                    f"{duration_text(b['from_seconds']) or '0s'}–{duration_text(b['to_seconds'])}"
                    for b in whole["bins"]
                ],
                y=[b["people"] for b in whole["bins"]],
            )
        )
        figures.append(
            _layout(hist, f"Time to convert, step {whole['from_step']} to {whole['to_step']}")
        )
    return figures


def trend_figures(data: list[dict[str, Any]]) -> list[go.Figure]:
    fig = go.Figure(
        go.Scatter(
            x=[str(p["period"]) for p in data],
            y=[p["conversion"] for p in data],
            mode="lines+markers",
            customdata=[[p["entered"], p["converted"]] for p in data],
            hovertemplate="%{x}: %{y:.1%} (%{customdata[1]} of %{customdata[0]})<extra></extra>",
        )
    )
    return [_layout(fig, "Conversion by the period people entered", yaxis={"tickformat": ".0%"})]


def paths_figures(data: dict[str, Any]) -> list[go.Figure]:
    """A Sankey of the edges between consecutive steps (a node per position and step)."""
    nodes: dict[tuple[int, str], int] = {}

    def node(position: int, name: str) -> int:
        return nodes.setdefault((position, name), len(nodes))

    source, target, value = [], [], []
    for e in data["edges"]:
        source.append(node(e["position"], e["source"]))
        target.append(node(e["position"] + 1, e["target"]))
        value.append(e["count"])
    labels = [name for (_, name) in nodes]
    sankey = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "pad": 12, "thickness": 14},
            link={"source": source, "target": target, "value": value},
        )
    )
    top = data["paths"][:20]
    bars = go.Figure(
        go.Bar(
            x=[p["count"] for p in reversed(top)],
            y=[" > ".join(p["steps"]) for p in reversed(top)],
            orientation="h",
        )
    )
    return [
        _layout(sankey, "Paths between consecutive steps", height=560),
        _layout(bars, "Top paths", height=max(300, 28 * len(top) + 120), margin={"l": 420}),
    ]


def painpoint_figures(data: dict[str, Any]) -> list[go.Figure]:
    stages = data["stages"]
    names = [f"{s['from_event']} > {s['to_event']}" for s in stages]
    fig = go.Figure()
    fig.add_bar(name=data["segment"], y=names, x=[s["drop_rate"] for s in stages], orientation="h")
    fig.add_bar(
        name="other segments",
        y=names,
        x=[s["others"]["drop_rate"] if s["others"] else None for s in stages],
        orientation="h",
    )
    fig.add_bar(
        name="previous period",
        y=names,
        x=[s["previous"]["drop_rate"] if s["previous"] else None for s in stages],
        orientation="h",
    )
    return [
        _layout(
            fig,
            "Drop-off per stage, ranked (top first)",
            barmode="group",
            xaxis={"tickformat": ".0%"},
            yaxis={"autorange": "reversed"},
            margin={"l": 320},
        )
    ]


def retention_figures(data: dict[str, Any]) -> list[go.Figure]:
    cohorts = data["cohorts"]
    width = max((len(c["rates"]) for c in cohorts), default=0)
    z = [c["rates"] + [None] * (width - len(c["rates"])) for c in cohorts]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{data['period']} {i}" for i in range(width)],
            y=[f"{c['period']} ({c['people']})" for c in cohorts],
            text=[[_pct(v) if v is not None else "" for v in row] for row in z],
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
        )
    )
    figures = [_layout(fig, "Retention by cohort", yaxis={"autorange": "reversed"}, height=520)]
    # period N's retention as a trend over the cohorts (day 1, day 7... retention)
    trend = go.Figure()
    entered = [c for c in cohorts if c["people"]]
    for n in sorted({1, min(3, width - 1), width - 1} - {0}):
        trend.add_scatter(
            name=f"{data['period']} {n}",
            x=[str(c["period"]) for c in entered],
            y=[c["rates"][n] if n < len(c["rates"]) else None for c in entered],
            mode="lines+markers",
        )
    if entered and width > 1:
        figures.append(
            _layout(trend, f"{data['period'].capitalize()} N retention by cohort",
                    yaxis={"tickformat": ".0%", "rangemode": "tozero"})
        )  # fmt: skip
    if any(c.get("sums") is not None for c in cohorts):
        money = go.Figure(
            go.Heatmap(
                z=[c["per_person"] for c in cohorts],
                x=[f"{data['period']} {i}" for i in range(width)],
                y=[f"{c['period']} ({c['people']})" for c in cohorts],
                texttemplate="%{z:.2f}",
                colorscale="Greens",
            )
        )
        figures.append(
            _layout(money, "Revenue per person of the cohort, by period",
                    yaxis={"autorange": "reversed"}, height=520)
        )  # fmt: skip
    return figures


def lifecycle_figures(data: list[dict[str, Any]]) -> list[go.Figure]:
    fig = go.Figure()
    for status in ("new", "returning", "resurrecting", "dormant"):
        fig.add_bar(name=status, x=[str(p["period"]) for p in data], y=[p[status] for p in data])
    return [_layout(fig, "Lifecycle", barmode="relative")]


def stickiness_figures(data: dict[str, Any]) -> list[go.Figure]:
    fig = go.Figure()
    for group in data["groups"]:
        fig.add_bar(
            name=group["value"],
            x=[d["days"] for d in group["days"]],
            y=[d["share"] for d in group["days"]],
            customdata=[d["count"] for d in group["days"]],
            hovertemplate="%{x} days: %{y:.1%} (%{customdata})",
        )
    per = "over the range" if data["per"] == "range" else f"per {data['per']}"
    fig.update_xaxes(title_text=f"days active {per}", dtick=1)
    fig.update_yaxes(tickformat=".0%")
    return [_layout(fig, f"Days active {per}: share of people")]


def segment_figures(data: dict[str, Any]) -> list[go.Figure]:
    sizes = go.Figure()
    for group, points in sorted(data["sizes"].items()):
        sizes.add_scatter(
            name=group,
            x=[p["at"] for p in points],
            y=[p["members"] for p in points],
            mode="lines+markers",
        )
    figures = [_layout(sizes, "Segment sizes over time (members at each refresh)")]
    if data.get("value"):
        value = go.Figure()
        value.add_bar(
            name="customers",
            x=[v["group"] for v in data["value"]],
            y=[v["share_of_customers"] for v in data["value"]],
        )
        value.add_bar(
            name="revenue",
            x=[v["group"] for v in data["value"]],
            y=[v["share_of_revenue"] for v in data["value"]],
        )
        figures.append(
            _layout(
                value,
                "Share of customers and of revenue per RFM group",
                barmode="group",
                yaxis={"tickformat": ".0%"},
            )
        )
    return figures


def scorecard_figures(data: dict[str, Any]) -> list[go.Figure]:
    rows = data["segments"]
    names = [r["segment"] for r in rows]
    rates = go.Figure()
    for metric in ("conversion", "purchase_rate", "retention", "csat_satisfied"):
        values = [r[metric] for r in rows]
        if any(v is not None for v in values):
            rates.add_bar(name=metric.replace("_", " "), x=names, y=values)
    money = go.Figure()
    money.add_bar(name="revenue per person", x=names, y=[r["revenue_per_person"] for r in rows])
    engagement = go.Figure()
    for metric in ("sessions_per_person", "events_per_session", "active_days_per_person"):
        engagement.add_bar(name=metric.replace("_", " "), x=names, y=[r[metric] for r in rows])
    return [
        _layout(rates, "Rates per segment", barmode="group", yaxis={"tickformat": ".0%"}),
        _layout(money, "Revenue per person"),
        _layout(engagement, "Engagement per segment", barmode="group"),
    ]


def compare_figures(data: dict[str, Any]) -> list[go.Figure]:
    out = []
    tested = [c for c in data["changes"] if c["ci_low"] is not None]
    for metric in dict.fromkeys(c["metric"] for c in tested):
        rows = [c for c in tested if c["metric"] == metric]
        fig = go.Figure()
        fig.add_bar(
            x=[c["segment"] for c in rows],
            y=[c["difference"] for c in rows],
            marker_color=["#2a9d8f" if c["significant"] else "#bbbbbb" for c in rows],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [c["ci_high"] - c["difference"] for c in rows],
                "arrayminus": [c["difference"] - c["ci_low"] for c in rows],
            },
        )
        title = f"Change in {metric.replace('_', ' ')} (95% interval; colored: significant)"
        out.append(_layout(fig, title))
    return out


def campaign_figures(data: dict[str, Any]) -> list[go.Figure]:
    rows = [r for r in data["campaigns"] if r["segment"] == "(all)" and r["spend"] > 0]
    labels = [" / ".join(x for x in (r["utm_source"], r["utm_medium"], r["utm_campaign"]) if x)
              for r in rows]  # fmt: skip
    fig = go.Figure()
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
        fig.add_bar(
            name=model.replace("_", " "), x=labels, y=[r.get(f"{model}_roas") for r in rows]
        )
    spend = go.Figure()
    spend.add_bar(name="spend", x=labels, y=[r["spend"] for r in rows])
    spend.add_bar(name="first-touch revenue", x=labels, y=[r["first_touch_revenue"] for r in rows])
    spend.add_bar(name="last-touch revenue", x=labels, y=[r["last_touch_revenue"] for r in rows])
    return [
        _layout(fig, "Return on ad spend (revenue / spend) per campaign", barmode="group"),
        _layout(
            spend,
            f"Spend and attributed revenue ({data['currency'] or 'currency'})",
            barmode="group",
        ),  # fmt: skip
    ]


def journey_map_figures(data: dict[str, Any]) -> list[go.Figure]:
    """Stage conversion per group (the stalled stage marked), and the change of each stage's
    conversion against the previous period (significant changes marked)."""
    stages = [f"{i + 1}. {name}" for i, name in enumerate(data["stages"])]
    reach = go.Figure()
    change = go.Figure()
    for g in data["groups"]:
        rows = g["stages"]
        reach.add_bar(
            name=g["value"],
            x=stages,
            y=[s["people"] for s in rows],
            text=[
                _pct(s["conversion_from_previous"])
                + (" (stalls)" if s["stage"] == g["stalls_at"] else "")
                for s in rows
            ],
            textposition="outside",
            hovertemplate="%{x}<br>%{y} people, %{text} from the stage before<extra>"
            + html.escape(g["value"])
            + "</extra>",
        )
        compared = [
            (x, s) for x, s in zip(stages[1:], rows[1:], strict=True) if s["change"] is not None
        ]
        change.add_bar(  # no bar where the previous period had nobody to compare with
            name=g["value"],
            x=[x for x, _ in compared],
            y=[s["change"] for _, s in compared],
            text=[("* " if s["significant"] else "") + f"{s['change']:+.1%}" for _, s in compared],
            textposition="outside",
        )
    return [
        _layout(reach, "People per stage (conversion from the stage before)", barmode="group"),
        _layout(
            change,
            "Change of stage conversion against the previous period (* significant)",
            barmode="group",
            yaxis={"tickformat": ".0%"},
        ),
    ]


def trend_series_figures(data: dict[str, Any]) -> list[go.Figure]:
    """A line per series over the buckets, the previous period's dotted beside each."""
    fig = go.Figure()
    x = [str(b) for b in data["buckets"]]
    for s in data["series"]:
        fig.add_scatter(name=s["value"], x=x, y=s["points"], mode="lines+markers")
        fig.add_scatter(
            name=f"{s['value']} (previous period)",
            x=x,
            y=s["previous"],
            mode="lines",
            line={"dash": "dot"},
        )
    return [_layout(fig, f"{data['measure'].capitalize()} per {data['interval']}")]


def web_figures(data: dict[str, Any]) -> list[go.Figure]:
    """Per list (top pages, entry and exit pages, sources), a bar per entry and group."""
    titles = {
        "pages": "Top pages (views)",
        "entry": "Entry pages (sessions)",
        "exit": "Exit pages (sessions)",
        "sources": "Traffic sources (sessions)",
    }
    out = []
    for name, title in titles.items():
        fig = go.Figure()
        for g in data["groups"]:
            rows = g[name]
            fig.add_bar(name=g["value"], x=[r["value"] for r in rows], y=[r["count"] for r in rows])
        out.append(_layout(fig, title, barmode="group"))
    return out


def correlation_figures(data: dict[str, Any]) -> list[go.Figure]:
    """Per tested item, the share of the dropped and of the converted who had it."""
    items = data["items"][:20]
    labels = [f"{'* ' if i['significant'] else ''}{i['field']}: {i['value']}" for i in items]
    fig = go.Figure()
    fig.add_bar(name="dropped", x=labels, y=[i["dropped_share"] for i in items])
    fig.add_bar(name="converted", x=labels, y=[i["converted_share"] for i in items])
    title = f"Who had it: dropped after {data['from_event']} against converted (* significant)"
    return [_layout(fig, title, barmode="group", yaxis={"tickformat": ".0%"})]


def experiment_figures(data: dict[str, Any]) -> list[go.Figure]:
    """Per metric: each variant's rate (or mean) per segment with its 95% interval, and each
    treatment's lift over the control per segment with its interval (colored: significant
    after Benjamini-Hochberg)."""
    out = []
    for m in data["metrics"]:
        conversion = m["kind"] == "conversion"
        values = go.Figure()
        segments = [g["segment"] for g in m["groups"]]
        for name in data["variants"]:
            shown = [next(f for f in g["variants"] if f["variant"] == name) for g in m["groups"]]
            values.add_bar(
                name=name,
                x=segments,
                y=[f["value"] for f in shown],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [_span(f["high"], f["value"]) for f in shown],
                    "arrayminus": [_span(f["value"], f["low"]) for f in shown],
                },
            )
        role = "guardrail" if m["guardrail"] else "primary metric"
        what = "conversion" if conversion else "per person"
        axis = {"tickformat": ".0%"} if conversion else {}
        out.append(
            _layout(values, f"{m['name']} ({role}, {what}; 95% interval)", barmode="group",
                    yaxis=axis)
        )  # fmt: skip
        lift = go.Figure()
        for name in data["variants"]:
            if name == data["control"]:
                continue
            shown = [next(f for f in g["variants"] if f["variant"] == name) for g in m["groups"]]
            tested = [(s, f) for s, f in zip(segments, shown, strict=True) if f["lift"]]
            lift.add_bar(
                name=f"{name} - {data['control']}",
                x=[s for s, _ in tested],
                y=[f["lift"]["absolute"] for _, f in tested],
                marker_color=["#2a9d8f" if f["significant"] else "#bbbbbb" for _, f in tested],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        f["lift"]["absolute_high"] - f["lift"]["absolute"] for _, f in tested
                    ],
                    "arrayminus": [
                        f["lift"]["absolute"] - f["lift"]["absolute_low"] for _, f in tested
                    ],
                },
            )
        out.append(
            _layout(lift, f"Lift in {m['name']} over {data['control']} (colored: significant)",
                    barmode="group", yaxis=axis)
        )  # fmt: skip
    return out


def _span(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


FIGURES = {
    "funnel": funnel_figures,
    "funnel_trend": trend_figures,
    "paths": paths_figures,
    "painpoints": painpoint_figures,
    "retention": retention_figures,
    "lifecycle": lifecycle_figures,
    "stickiness": stickiness_figures,
    "journey_map": journey_map_figures,
    "trends": trend_series_figures,
    "web": web_figures,
    "correlation": correlation_figures,
    "segment": segment_figures,
    "scorecard": scorecard_figures,
    "compare": compare_figures,
    "campaigns": campaign_figures,
    "experiment": experiment_figures,
}


# The trace attributes that carry data (event names, property values, segment names) and that
# plotly.js draws with its pseudo-HTML (<a href>, <b>, <br>, style): written as entities there,
# so such data is shown as the text it is and never becomes a link or restyles a label.
_TEXT_ATTRIBUTES = ("x", "y", "labels", "text", "hovertext", "name", "customdata")


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _plain_text(fig: go.Figure) -> go.Figure:
    for trace in fig.data:
        for name in _TEXT_ATTRIBUTES:
            if name in trace and trace[name] is not None:
                trace[name] = _plain(trace[name])
        if trace.type == "sankey":
            trace.node.label = _plain(trace.node.label)
            trace.link.label = _plain(trace.link.label)
    return fig


def figures(result: Result) -> list[go.Figure]:
    """The charts of a result, its data drawn as plain text (HTML reports and the dashboard)."""
    make = FIGURES.get(result.kind)
    return [_plain_text(fig) for fig in make(result.data)] if make else []  # type: ignore[operator]


def _json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.replace("<", "\\u003c")  # no tag can start inside the script element


def _cell(value: Any, column: str = "") -> str:
    if isinstance(value, float):  # a share as a percentage, a p-value as 0.031 (output.cell)
        return html.escape(cell(value, column))
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value, default=str))
    return html.escape("" if value is None else str(value))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p class='empty'>No rows.</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c), c)}</td>" for c in columns) + "</tr>"
        for r in rows[:MAX_TABLE_ROWS]
    )
    more = (
        f"<p class='more'>{len(rows) - MAX_TABLE_ROWS} more rows in the JSON and CSV.</p>"
        if len(rows) > MAX_TABLE_ROWS
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _correlated(items: list[dict[str, Any]]) -> str:
    """A pain point's stage: what the people who dropped had, against those who converted."""
    if not items:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(i['value'] if i['field'] == 'event' else i['field'] + ' = ' + i['value'])}"
        f"</td><td>{_pct(i['dropped_share'])}</td><td>{_pct(i['converted_share'])}</td>"
        f"<td>{i['odds_ratio']:.2f}</td><td>{i['adjusted_p_value']:.3g}"
        f"{' *' if i['significant'] else ''}</td></tr>"
        for i in items
    )
    return (
        "<table class='correlated'><thead><tr><th>after this step</th><th>dropped</th>"
        "<th>converted</th><th>odds ratio</th><th>adjusted p</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _evidence(result: Result) -> str:
    if result.kind != "painpoints":
        return ""
    items = []
    for i, s in enumerate(result.data["stages"]):
        rank = f"#{i + 1}" if s["ranked"] else "not ranked"
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in s["reasons"])
        items.append(
            f"<li><b>{rank}: {html.escape(s['from_event'])} &gt; {html.escape(s['to_event'])}"
            f"</b>: {s['dropped']} of {s['entered']} dropped ({_pct(s['drop_rate'])})"
            f"<ul>{reasons}</ul>{_correlated(s.get('correlated') or [])}</li>"
        )
    return f"<h3>Evidence</h3><ol class='evidence'>{''.join(items)}</ol>"


def section(result: Result, index: int) -> str:
    charts = "".join(
        f"<div class='chart' id='chart-{index}-{j}'></div>"
        f"<script type='application/json' class='journey-figure' data-target='chart-{index}-{j}'>"
        f"{_json(fig.to_json())}</script>"
        for j, fig in enumerate(figures(result))
    )
    params = "; ".join(f"{k}={', '.join(v)}" for k, v in result.params.items())
    warnings = "".join(
        f"<p class='warning' role='alert'>{html.escape(w['message'])}</p>" for w in result.warnings
    )
    return (
        f"<section data-kind='{html.escape(result.kind)}'><h2>{html.escape(result.title)}</h2>"
        f"<p class='params'>{html.escape(params)}</p>{warnings}{charts}{_evidence(result)}"
        f"<details open><summary>Table</summary>{_table(result.rows)}</details>"
        f"<script type='application/json' class='journey-result' data-kind='{html.escape(result.kind)}'>"
        f"{_json(result.data)}</script></section>"
    )


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:24px;color:#1d2433}h1{margin-bottom:4px}.generated,.params{color:#667;font-size:13px}
section{border-top:1px solid #dde;margin-top:28px;padding-top:8px}.chart{min-height:300px}
details{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border-bottom:1px solid #eee;
padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
.evidence li{margin:6px 0}.warning{background:#fff4e0;border-left:4px solid #e8a33d;padding:6px 10px}
"""

DRAW = """
document.querySelectorAll('script.journey-figure').forEach(function (s) {
  var fig = JSON.parse(s.textContent);
  Plotly.newPlot(s.dataset.target, fig.data, fig.layout, {responsive: true, displaylogo: false});
});
"""


@cache
def policy() -> str:
    """The page's Content-Security-Policy: its two scripts (plotly.js and the drawing code) by
    their hashes and nothing else; no connection, form, frame or base URL. In the page itself
    (a meta element), so a report saved to disk and opened from there keeps it."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in (plotly_js(), DRAW)
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def page(title: str, results: Sequence[Result], generated: datetime | None = None) -> str:
    """One self-contained HTML page with a section per result."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    sections = "".join(section(r, i) for i, r in enumerate(results))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{policy()}">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly_js()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='generated'>Generated by Journey, {when}</p>"
        f"{sections}<script>{DRAW}</script></body></html>"
    )

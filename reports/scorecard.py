"""The scorecard reports by name: ``scorecard`` (figures per segment over a period),
``compare`` (a period against an earlier one, with intervals) and ``campaigns`` (spend against
first- and last-touch revenue per campaign and segment). reports.analyses runs them like the
journey reports, so the CLI, the API, saved reports and HTML all have them."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from reports.output import Plain, Share
from reports.params import Params
from reports.result import Result, checked
from storage.store import Store


def _spec(p: Params, since: datetime, until: datetime) -> Any:
    from analyzer.segments.scorecard import ScorecardSpec

    return ScorecardSpec(
        date_from=since,
        date_to=until,
        segments=tuple(p.many("segment")),
        steps=p.steps(),
        window=p.duration("window"),
        mode=p.choice("mode"),
        purchase_event=p.one("purchase_event") or "",
        revenue_property=p.one("revenue_property") or "",
        retention_days=p.integer("retention_days"),
        session_timeout_minutes=p.integer("session_timeout"),
        csat_event=p.one("csat_event"),
        csat_property=p.one("csat_property") or "",
        csat_trait=p.one("csat_trait"),
        satisfied_at=p.number("satisfied_at"),
        include_bots=p.flag("include_bots"),
    )


def scorecard(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Per segment over the period: funnel conversion, engagement, retention, revenue, CSAT."""
    from analyzer.segments.scorecard import scorecard as compute

    since, until = p.period(today)
    spec = _spec(p, since, until)
    p.done()
    card = compute(store, checked(spec))
    rows = [s.row() for s in card.segments]
    return Result("scorecard", f"Segment scorecard, {since:%Y-%m-%d} to {until:%Y-%m-%d}",
                  card.as_dict(), rows)  # fmt: skip


def compare(store: Store, p: Params, today: datetime | None = None) -> Result:
    """The scorecard of ``since``-``until`` against ``before_since``-``before_until``: every
    figure's change with its 95% interval and p-value."""
    from analyzer.segments.scorecard import compare as compute

    since, until = p.period(today)
    before_since, before_until = p.moment("before_since"), p.moment("before_until")
    assert before_since is not None and before_until is not None  # declared required
    min_sample = p.integer("min_sample")
    after = _spec(p, since, until)
    p.done()
    before = replace(after, date_from=before_since, date_to=before_until)
    checked(before, {"date_from": "before_since", "date_to": "before_until"})
    found = compute(store, before, checked(after), min_sample)
    rows = [_typed(asdict(c)) for c in found.changes]
    title = (
        f"Before and after: {before_since:%Y-%m-%d} to {before_until:%Y-%m-%d} "
        f"against {since:%Y-%m-%d} to {until:%Y-%m-%d}"
    )
    return Result("compare", title, found.as_dict(), rows)


def campaigns(store: Store, p: Params, today: datetime | None = None) -> Result:
    """Spend, reach and first- and last-touch revenue, ROAS and ROI per campaign and segment."""
    from analyzer.campaigns import CampaignSpec, campaign_return

    since, until = p.period(today)
    spec = CampaignSpec(
        date_from=since,
        date_to=until,
        segments=tuple(p.many("segment")),
        purchase_event=p.one("purchase_event") or "",
        revenue_property=p.one("revenue_property") or "",
        lookback_days=p.integer("lookback_days"),
        half_life_days=p.number("half_life_days"),
        include_bots=p.flag("include_bots"),
    )
    p.done()
    report = campaign_return(store, checked(spec))
    rows = [asdict(c) for c in report.campaigns]
    title = f"Campaign return, {since:%Y-%m-%d} to {until:%Y-%m-%d}"
    return Result("campaigns", title, report.as_dict(), rows)


_FIGURES = ("before", "after", "difference", "ci_low", "ci_high")


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A compared metric's figures as what they are: a proportion (shown as a percentage) or a
    mean (two decimals), whatever the column is called; ``relative`` is a proportion."""
    from analyzer.segments.scorecard import SHARE_METRICS

    kind = Share if row["metric"] in SHARE_METRICS else Plain
    for name in _FIGURES:
        if isinstance(row[name], float):
            row[name] = kind(row[name])
    if isinstance(row["relative"], float):
        row["relative"] = Share(row["relative"])
    return row

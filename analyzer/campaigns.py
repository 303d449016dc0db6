"""Campaign return: what each campaign cost (imported spend, loader.csv_spend) against the
revenue attributed to it, overall and per segment.

A *touch* is an event that carries a campaign (a non-empty ``utm_source``; the snippet keeps a
landing page's UTM values for the rest of its session). Each purchase in the period is
attributed whole to one campaign by each model:

* **first touch**: the person's earliest touch within ``lookback_days`` before the purchase;
* **last touch**: their latest touch at or before the purchase, within the same lookback.

and shared among the touches in the lookback by each of three more:

* **linear**: equally;
* **time decay**: a touch ``half_life_days`` before the purchase gets half the weight of one
  at the purchase (weights ``2 ** -(age / half-life)``, then scaled to add up to one);
* **position based**: 40% to the first touch, 40% to the last, 20% shared by those between
  (one touch: all of it; two: half each).

A purchase's shares add up to one purchase and its whole revenue, so every model attributes the
same total. A purchase without a touch in the lookback is ``(direct)``. Journeys are identity-stitched, so
a visit from an ad on one device and a purchase after logging in on another are one path.

Spend is per campaign, not per segment, so a segment's share of a campaign's spend is its share
of the people the campaign touched in the period (who it reached). Return on ad spend (ROAS) is
revenue / spend; ROI is (revenue - spend) / spend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR, purchase_amount
from analyzer.membership import check_refreshed, listed, members_sql
from analyzer.parameters import (
    BOTS,
    PURCHASE_EVENT,
    REVENUE_PROPERTY,
    SINCE,
    UNTIL,
    Param,
    asked,
)
from analyzer.query import Query
from analyzer.timeline import timelines
from analyzer.vocabulary import check_property, check_range, check_segments
from storage.sql import identifier
from storage.store import Store

ALL = "(all)"
DIRECT = "(direct)"
WHOLE = ("first_touch", "last_touch")  # a purchase goes whole to one touch
SHARED = ("linear", "time_decay", "position_based")  # shared among the touches
MODELS = (*WHOLE, *SHARED)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class CampaignSpec:
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    segments: tuple[str, ...] = asked(
        Param("segment", "a segment to split by (NAME or NAME/GROUP)", many=True), default=()
    )
    purchase_event: str = asked(PURCHASE_EVENT, default="Order Completed")
    revenue_property: str = asked(REVENUE_PROPERTY, default="revenue")
    lookback_days: int = asked(
        Param("lookback_days", "days before a purchase a touch counts", "integer", 30, 1, 365),
        default=30,
    )
    half_life_days: float = asked(
        Param(
            "half_life_days",
            "time decay: a touch this many days before a purchase counts half as much as one "
            "at the purchase",
            "number",
            7.0,
            0.01,
            365,
        ),
        default=7.0,
    )
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)

    def validate(self) -> CampaignSpec:
        check_range(self.date_from, self.date_to)
        check_segments(self.segments)
        if not 0 < len(self.purchase_event) <= 200:
            raise SpecError("purchase_event", "an event name of 1 to 200 characters")
        check_property(self.revenue_property, "revenue_property")
        if not 1 <= self.lookback_days <= 365:
            raise SpecError("lookback_days", "from 1 to 365 days")
        if not 0.01 <= self.half_life_days <= 365:
            raise SpecError("half_life_days", "from 0.01 to 365 days")
        return self


@dataclass
class CampaignReturn:
    segment: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    spend: float  # the segment's share of the campaign's spend
    touched: int  # people the campaign touched in the period
    first_touch_purchases: int = 0
    first_touch_revenue: float = 0.0
    first_touch_roas: float | None = None
    first_touch_roi: float | None = None
    last_touch_purchases: int = 0
    last_touch_revenue: float = 0.0
    last_touch_roas: float | None = None
    last_touch_roi: float | None = None
    # shared models: purchases are shares of purchases
    linear_purchases: float = 0.0
    linear_revenue: float = 0.0
    linear_roas: float | None = None
    linear_roi: float | None = None
    time_decay_purchases: float = 0.0
    time_decay_revenue: float = 0.0
    time_decay_roas: float | None = None
    time_decay_roi: float | None = None
    position_based_purchases: float = 0.0
    position_based_revenue: float = 0.0
    position_based_roas: float | None = None
    position_based_roi: float | None = None

    def finish(self) -> CampaignReturn:
        self.spend = round(self.spend, 2)
        for model in SHARED:
            setattr(self, f"{model}_purchases", round(getattr(self, f"{model}_purchases"), 4))
        for model in MODELS:
            revenue = round(getattr(self, f"{model}_revenue"), 2)
            setattr(self, f"{model}_revenue", revenue)
            if self.spend > 0:
                setattr(self, f"{model}_roas", round(revenue / self.spend, 4))
                setattr(self, f"{model}_roi", round((revenue - self.spend) / self.spend, 4))
        return self


@dataclass
class CampaignReport:
    date_from: str
    date_to: str
    currency: str
    lookback_days: int
    campaigns: list[CampaignReturn]
    totals: list[CampaignReturn] = field(default_factory=list)  # per segment, paid campaigns

    def as_dict(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "currency": self.currency,
            "lookback_days": self.lookback_days,
            "campaigns": [asdict(c) for c in self.campaigns],
            "totals": [asdict(c) for c in self.totals],
        }


def _people_sql(store: Store, spec: CampaignSpec) -> tuple[str, dict[str, Any]]:
    """Per person: their timeline from a lookback before the period to its end (touch flag,
    campaign, purchase amount or -1) and ``segs``, their segments of ``spec.segments``."""
    query = Query()
    query.update(
        {
            "from_s": int(spec.date_from.timestamp()) - spec.lookback_days * 86400,
            "to_s": int(spec.date_to.timestamp()),
            "period_ms": int(spec.date_from.timestamp() * 1000),
            "to_ms": int(spec.date_to.timestamp() * 1000),
            "lookback_ms": spec.lookback_days * DAY_MS,
            "purchase_event": spec.purchase_event,
            "revenue_property": spec.revenue_property,
        }
    )
    fields = {
        "touch": "toUInt8(utm_source != '')",
        "src": "utm_source",
        "med": "utm_medium",
        "camp": "utm_campaign",
        "rev": purchase_amount(),
    }
    where = (
        f"{BEHAVIOUR} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s)"
    )
    people = (
        f"SELECT * FROM {timelines(store.database, fields, where, include_bots=spec.include_bots)}"
    )
    if not spec.segments:
        return f"SELECT *, CAST([] AS Array(String)) AS segs FROM ({people})", query.values
    members = members_sql(store.database, list(spec.segments), query)
    joined = f"SELECT * FROM ({people}) AS p ANY LEFT JOIN {members} AS m USING person_id"
    return joined, query.values


def attributed(
    store: Store, spec: CampaignSpec
) -> dict[tuple[str, str, str, str, str], tuple[int, float]]:
    """(model, segment, source, medium, campaign) -> (purchases, revenue) in the period."""
    people, params = _people_sql(store, spec)
    window = "k = 1 AND t <= pt AND t + %(lookback_ms)s >= pt"
    sql = f"""SELECT tupleElement(a, 1) AS model, segment, tupleElement(a, 2) AS s,
               tupleElement(a, 3) AS m, tupleElement(a, 4) AS c, count(), sum(amount)
        FROM (SELECT amount, fi, ri, length(times) + 1 - ri AS li,
                arrayJoin([
                    ('first_touch', if(fi > 0, src[fi], %(direct)s), if(fi > 0, med[fi], ''),
                     if(fi > 0, camp[fi], '')),
                    ('last_touch', if(ri > 0, src[li], %(direct)s), if(ri > 0, med[li], ''),
                     if(ri > 0, camp[li], ''))]) AS a,
                arrayJoin(arrayConcat([%(all)s], segs)) AS segment
              FROM (SELECT segs, times, src, med, camp,
                           arrayJoin(arrayFilter((i, r, t) -> r >= 0 AND t >= %(period_ms)s
                               AND t < %(to_ms)s, arrayEnumerate(times), rev, times)) AS i,
                           times[i] AS pt, rev[i] AS amount,
                           arrayFirstIndex((t, k) -> {window}, times, touch) AS fi,
                           arrayFirstIndex((t, k) -> {window}, arrayReverse(times),
                                           arrayReverse(touch)) AS ri
                    FROM ({people})))
        GROUP BY model, segment, s, m, c"""
    rows = store.execute(sql, {**params, "direct": DIRECT, "all": ALL})
    return {
        (str(model), str(seg), str(s), str(m), str(c)): (int(n), float(revenue))
        for model, seg, s, m, c, n, revenue in rows
    }


def shared(
    store: Store, spec: CampaignSpec
) -> dict[tuple[str, str, str, str, str], tuple[float, float]]:
    """(model, segment, source, medium, campaign) -> (shares of purchases, revenue) in the
    period, for the models that share a purchase among its touches."""
    people, params = _people_sql(store, spec)
    window = "k = 1 AND t <= pt AND t + %(lookback_ms)s >= pt"
    # Old servers drop a subquery's column used only inside a lambda: the purchase's time and
    # the touch count enter the weights' lambdas as arrays of their own.
    direct = ", ".join(f"('{m}', 1., %(direct)s, '', '')" for m in SHARED)
    sql = f"""SELECT tupleElement(x, 1) AS model, segment, tupleElement(x, 3) AS s,
               tupleElement(x, 4) AS m, tupleElement(x, 5) AS c,
               sum(tupleElement(x, 2)), sum(tupleElement(x, 2) * amount)
        FROM (SELECT amount, arrayJoin(arrayConcat([%(all)s], segs)) AS segment,
                arrayJoin(if(n = 0, [{direct}], arrayConcat(
                    arrayMap((w, s, m, c) -> ('linear', w, s, m, c), lw, ts, tm, tc),
                    arrayMap((w, s, m, c) -> ('time_decay', w, s, m, c), dw, ts, tm, tc),
                    arrayMap((w, s, m, c) -> ('position_based', w, s, m, c), pw, ts, tm, tc)
                ))) AS x
              FROM (SELECT segs, amount, n, ts, tm, tc,
                           arrayResize([1. / n], n, 1. / n) AS lw,
                           arrayMap((t, p) -> exp2((toInt64(t) - toInt64(p)) / %(half_life_ms)s),
                                    tt, arrayResize([pt], n, pt)) AS raw,
                           arrayMap((w, s) -> w / s, raw, arrayResize([arraySum(raw)], n,
                                                                      arraySum(raw))) AS dw,
                           arrayMap((e, k) -> multiIf(k = 1, 1., k = 2, 0.5, e = 1 OR e = k, 0.4,
                                                      0.2 / (k - 2)),
                                    arrayEnumerate(tt), arrayResize([n], n, n)) AS pw
                    FROM (SELECT segs, amount, pt,
                                       arrayFilter((t, k) -> {window}, times, touch) AS tt,
                                       arrayFilter((x, t, k) -> {window}, src, times, touch) AS ts,
                                       arrayFilter((x, t, k) -> {window}, med, times, touch) AS tm,
                                       arrayFilter((x, t, k) -> {window}, camp, times, touch) AS tc,
                                       length(tt) AS n
                                FROM (SELECT segs, times, src, med, camp, touch,
                                             arrayJoin(arrayFilter((i, r, t) -> r >= 0
                                                 AND t >= %(period_ms)s AND t < %(to_ms)s,
                                                 arrayEnumerate(times), rev, times)) AS i,
                                             times[i] AS pt, rev[i] AS amount
                                      FROM ({people})))))
        GROUP BY model, segment, s, m, c"""
    half_life_ms = spec.half_life_days * DAY_MS
    rows = store.execute(
        sql, {**params, "direct": DIRECT, "all": ALL, "half_life_ms": half_life_ms}
    )
    return {
        (str(model), str(seg), str(s), str(m), str(c)): (float(n), float(revenue))
        for model, seg, s, m, c, n, revenue in rows
    }


def touched(store: Store, spec: CampaignSpec) -> dict[tuple[str, str, str, str], int]:
    """(segment, source, medium, campaign) -> people the campaign touched in the period."""
    people, params = _people_sql(store, spec)
    sql = f"""SELECT segment, tupleElement(x, 1), tupleElement(x, 2), tupleElement(x, 3),
               uniqExact(person_id)
        FROM (SELECT person_id,
                arrayJoin(arrayDistinct(arrayFilter((x, k, t) -> k = 1 AND t >= %(period_ms)s,
                    arrayMap((a, b, c) -> (a, b, c), src, med, camp), touch, times))) AS x,
                arrayJoin(arrayConcat([%(all)s], segs)) AS segment
              FROM ({people}))
        GROUP BY segment, tupleElement(x, 1), tupleElement(x, 2), tupleElement(x, 3)"""
    rows = store.execute(sql, {**params, "all": ALL})
    return {(str(g), str(s), str(m), str(c)): int(n) for g, s, m, c, n in rows}


def spend(store: Store, spec: CampaignSpec) -> tuple[dict[tuple[str, str, str], float], str]:
    """Spend per campaign over the period's days (the latest import of each day), currency."""
    db = identifier(store.database)
    rows = store.execute(
        f"""SELECT utm_source, utm_medium, utm_campaign, sum(amount), any(cur) FROM (
                SELECT day, utm_source, utm_medium, utm_campaign,
                       argMax(spend, import_us) AS amount, argMax(currency, import_us) AS cur
                FROM {db}.campaign_spend
                WHERE day >= toDate(%(from_s)s) AND day < toDate(%(to_s)s)
                GROUP BY day, utm_source, utm_medium, utm_campaign)
            GROUP BY utm_source, utm_medium, utm_campaign""",
        {"from_s": int(spec.date_from.timestamp()), "to_s": int(spec.date_to.timestamp())},
    )
    currencies = {str(r[4]) for r in rows if r[4]}
    return {(str(s), str(m), str(c)): float(x) for s, m, c, x, _ in rows}, ",".join(
        sorted(currencies)
    )


def campaign_return(store: Store, spec: CampaignSpec) -> CampaignReport:
    """Spend, touched people and first- and last-touch revenue, ROAS and ROI per campaign and
    segment (``(all)`` for everyone), and per segment over the campaigns with spend."""
    spec.validate()
    check_refreshed(store, listed("segments", spec.segments))
    costs, currency = spend(store, spec)
    reach = touched(store, spec)
    revenue: dict[tuple[str, str, str, str, str], tuple[float, float]] = {
        **attributed(store, spec),
        **shared(store, spec),
    }
    segments = [ALL, *spec.segments]
    campaigns = set(costs) | {k[1:] for k in reach} | {k[2:] for k in revenue}
    out: list[CampaignReturn] = []
    totals = {s: CampaignReturn(s, "(paid campaigns)", "", "", 0.0, 0) for s in segments}
    for segment in segments:
        for campaign in sorted(campaigns):
            people = reach.get((segment, *campaign), 0)
            everyone = reach.get((ALL, *campaign), 0)
            cost = costs.get(campaign, 0.0)
            share = cost if segment == ALL else (cost * people / everyone if everyone else 0.0)
            row = CampaignReturn(segment, *campaign, spend=share, touched=people)
            for model in MODELS:
                n, amount = revenue.get((model, segment, *campaign), (0, 0.0))
                setattr(row, f"{model}_purchases", n)
                setattr(row, f"{model}_revenue", amount)
            if not (
                row.touched or row.spend or row.first_touch_purchases or row.last_touch_purchases
            ):
                continue
            if campaign in costs:
                total = totals[segment]
                total.spend += row.spend
                total.touched += row.touched
                for model in MODELS:
                    for part in ("purchases", "revenue"):
                        name = f"{model}_{part}"
                        setattr(total, name, getattr(total, name) + getattr(row, name))
            out.append(row.finish())
    return CampaignReport(
        date_from=spec.date_from.isoformat(),
        date_to=spec.date_to.isoformat(),
        currency=currency,
        lookback_days=spec.lookback_days,
        campaigns=out,
        totals=[t.finish() for t in totals.values()],
    )

"""Campaign return (spend imported from CSV, first- and last-touch revenue, ROAS per segment) on
the ClickHouse server, chDB and the cluster, against a pandas reference."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzer.campaigns import ALL, DIRECT, CampaignSpec, campaign_return
from analyzer.errors import SpecError
from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from loader.csv_spend import SpendImportError, import_spend
from storage.store import Store
from tests.analyzer.reference import persons
from tests.analyzer.segments import reference
from tests.analyzer.segments.bases import DAY_MS, NOW, customers, load
from tests.conftest import WITH_CLUSTER, drop_store, open_store

pytestmark = pytest.mark.integration

DOC = {
    "version": 1,
    "segments": [{"name": "young", "rule": {"trait": "age_band", "in": ["18-24", "25-34"]}}],
}
SINCE, UNTIL = NOW - timedelta(days=60), NOW
SPEND = """date,utm_source,utm_medium,utm_campaign,spend,currency
{d1},google,cpc,,100.50,EUR
{d1},google,cpc,,49.50,EUR
{d2},google,cpc,,300,EUR
{d2},facebook,cpc,,250,eur
{d2},bing,cpc,brand,80,EUR
{old},google,cpc,,999,EUR
"""


@dataclass
class Loaded:
    store: Store
    events: list[dict[str, Any]]
    young: set[str]


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def loaded(
    request: pytest.FixtureRequest, chdb_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    store = open_store(request.param, request, chdb_path)
    events = customers(6, people=300)
    load(store, events, 6)
    catalog.define(store, parse_document(DOC))
    refresh(store, at=NOW)
    path = tmp_path_factory.mktemp("spend") / "spend.csv"
    days = {"d1": SINCE.date(), "d2": (NOW - timedelta(days=3)).date()}
    path.write_text(SPEND.format(old=(SINCE - timedelta(days=1)).date(), **days))
    result = import_spend(store, path)
    assert (result.rows, result.imported, result.rejected) == (6, 5, [])
    young = reference.members(events, DOC, int(NOW.timestamp()))["young"]
    yield Loaded(store, events, young)
    drop_store(store)


def expected(events: list[dict[str, Any]], lookback_days: int) -> dict[tuple[str, str, str], Any]:
    """(model, person, campaign) -> [purchases, revenue] and people touched per campaign."""
    df = persons(events)
    lo = int(SINCE.timestamp()) - lookback_days * 86400
    df = df[df.type.isin(["track", "page", "screen"]) & (df.timestamp >= lo)]
    df = df[df.timestamp < int(UNTIL.timestamp())]
    since_ms, window = int(SINCE.timestamp() * 1000), lookback_days * DAY_MS
    out: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    reached: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person, g in df.groupby("person_id"):
        g = g.sort_values("timestamp_ms")
        touches = [(r.timestamp_ms, r.utm_source) for r in g.itertuples() if r.utm_source]
        for t, source in touches:
            if t >= since_ms:
                reached[(str(person), source)].add(str(person))
        for r in g.itertuples():
            if r.type != "track" or r.event != "Order Completed" or r.timestamp_ms < since_ms:
                continue
            amount = float(json.loads(r.properties).get("revenue", 0))
            near = [s for t, s in touches if t <= r.timestamp_ms and t + window >= r.timestamp_ms]
            for model, source in (
                (("first_touch", near[0]), ("last_touch", near[-1]))
                if near
                else (
                    ("first_touch", DIRECT),
                    ("last_touch", DIRECT),
                )
            ):
                out[(model, str(person), source)][0] += 1
                out[(model, str(person), source)][1] += amount
    return {"attributed": out, "reached": reached}  # type: ignore[return-value]


def shares(events: list[dict[str, Any]], lookback_days: int, half_life_days: float) -> Any:
    """(model, person, source) -> [shares of purchases, revenue] for the models that share a
    purchase among the touches in its lookback."""
    df = persons(events)
    lo = int(SINCE.timestamp()) - lookback_days * 86400
    df = df[df.type.isin(["track", "page", "screen"]) & (df.timestamp >= lo)]
    df = df[df.timestamp < int(UNTIL.timestamp())]
    since_ms, window = int(SINCE.timestamp() * 1000), lookback_days * DAY_MS
    half_life = half_life_days * DAY_MS
    out: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for person, g in df.groupby("person_id"):
        g = g.sort_values("timestamp_ms")
        touches = [(r.timestamp_ms, r.utm_source) for r in g.itertuples() if r.utm_source]
        for r in g.itertuples():
            if r.type != "track" or r.event != "Order Completed" or r.timestamp_ms < since_ms:
                continue
            amount = float(json.loads(r.properties).get("revenue", 0))
            near = [
                (t, s) for t, s in touches if t <= r.timestamp_ms and t + window >= r.timestamp_ms
            ]
            n = len(near)
            if not n:
                weights = {m: [(1.0, DIRECT)] for m in ("linear", "time_decay", "position_based")}
            else:
                decay = [2 ** ((t - r.timestamp_ms) / half_life) for t, _ in near]
                middle = 0.2 / (n - 2) if n > 2 else 0.0
                position = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else (
                    [0.4] + [middle] * (n - 2) + [0.4])  # fmt: skip
                weights = {
                    "linear": [(1 / n, s) for _, s in near],
                    "time_decay": [
                        (d / sum(decay), s) for d, (_, s) in zip(decay, near, strict=True)
                    ],
                    "position_based": [(w, s) for w, (_, s) in zip(position, near, strict=True)],
                }
            for model, parts in weights.items():
                for w, source in parts:
                    out[(model, str(person), source)][0] += w
                    out[(model, str(person), source)][1] += w * amount
    return {"attributed": out}


def test_shared_credit_models_match_pandas(loaded: Loaded) -> None:
    """Linear, time decay (a 2-day half-life) and position-based shares per campaign and
    segment; every model attributes the same purchases and revenue in all."""
    spec = CampaignSpec(SINCE, UNTIL, segments=("young",), lookback_days=30, half_life_days=2)
    report = campaign_return(loaded.store, spec)
    want = shares(loaded.events, 30, 2)
    rows = {(r.segment, r.utm_source): r for r in report.campaigns}
    for segment, who in ((ALL, None), ("young", loaded.young)):
        for source in ("google", "facebook", "newsletter", DIRECT):
            row = rows[(segment, source)]
            for model in ("linear", "time_decay", "position_based"):
                n, revenue = 0.0, 0.0
                for (m, person, s), (k, amount) in want["attributed"].items():
                    if m == model and s == source and (who is None or person in who):
                        n, revenue = n + k, revenue + amount
                assert getattr(row, f"{model}_purchases") == pytest.approx(n, abs=1e-3), model
                assert getattr(row, f"{model}_revenue") == pytest.approx(revenue, abs=0.02)
    everyone = [r for r in report.campaigns if r.segment == ALL]
    totals = {m: sum(getattr(r, f"{m}_revenue") for r in everyone)
              for m in ("first_touch", "linear", "time_decay", "position_based")}  # fmt: skip
    assert len({round(v, 0) for v in totals.values()}) == 1, totals
    linear = {r.utm_source: r.linear_revenue for r in everyone}
    decayed = {r.utm_source: r.time_decay_revenue for r in everyone}
    assert linear != decayed  # the models do differ on these journeys


def _sum(found: dict[Any, Any], model: str, source: str, who: set[str] | None) -> tuple[int, float]:
    n, revenue = 0, 0.0
    for (m, person, s), (k, amount) in found["attributed"].items():
        if m == model and s == source and (who is None or person in who):
            n, revenue = n + int(k), revenue + amount
    return n, revenue


@pytest.mark.parametrize("lookback", [30, 3])
def test_revenue_by_first_and_last_touch_matches_pandas(loaded: Loaded, lookback: int) -> None:
    spec = CampaignSpec(SINCE, UNTIL, segments=("young",), lookback_days=lookback)
    report = campaign_return(loaded.store, spec)
    want = expected(loaded.events, lookback)
    rows = {(r.segment, r.utm_source): r for r in report.campaigns}
    assert report.currency == "EUR"
    for segment, who in ((ALL, None), ("young", loaded.young)):
        for source in ("google", "facebook", "newsletter", DIRECT):
            row = rows[(segment, source)]
            for model in ("first_touch", "last_touch"):
                n, revenue = _sum(want, model, source, who)
                assert getattr(row, f"{model}_purchases") == n, (segment, source, model)
                assert getattr(row, f"{model}_revenue") == pytest.approx(revenue, abs=0.02)
            people = {p for (p, s) in want["reached"] if s == source}
            if who is not None:
                people &= who
            assert row.touched == len(people)
    # the purchases are the same under either model: attribution moves revenue, never loses it
    total = {m: sum(getattr(r, f"{m}_revenue") for r in report.campaigns if r.segment == ALL)
             for m in ("first_touch", "last_touch")}  # fmt: skip
    assert total["first_touch"] == pytest.approx(total["last_touch"], abs=0.05)


def test_spend_roas_and_the_segments_share(loaded: Loaded) -> None:
    report = campaign_return(loaded.store, CampaignSpec(SINCE, UNTIL, segments=("young",)))
    rows = {(r.segment, r.utm_source, r.utm_campaign): r for r in report.campaigns}
    google = rows[(ALL, "google", "")]
    assert google.spend == 450.0  # two rows of one day add up; the day before the period is out
    assert google.first_touch_roas == pytest.approx(google.first_touch_revenue / 450, abs=1e-4)
    assert google.last_touch_roi == pytest.approx((google.last_touch_revenue - 450) / 450, abs=1e-4)
    young = rows[("young", "google", "")]
    assert young.spend == pytest.approx(450 * young.touched / google.touched, abs=0.01)
    bing = rows[(ALL, "bing", "brand")]  # spend, but nobody came: a return of -100%
    assert (bing.spend, bing.touched, bing.first_touch_roi) == (80.0, 0, -1.0)
    paid = {t.segment: t for t in report.totals}
    assert paid[ALL].spend == 450 + 250 + 80
    assert paid[ALL].first_touch_revenue == pytest.approx(
        sum(r.first_touch_revenue for k, r in rows.items() if k[0] == ALL and k[1] != DIRECT
            and k[1] != "newsletter"), abs=0.05)  # fmt: skip


def test_reimporting_a_day_replaces_it(loaded: Loaded, tmp_path: Path) -> None:
    path = tmp_path / "fix.csv"
    day = (NOW - timedelta(days=3)).date()
    path.write_text(f"date,utm_source,utm_medium,spend\n{day},bing,cpc,70\n")
    import_spend(loaded.store, path)
    path.write_text(f"date,utm_source,utm_medium,utm_campaign,spend\n{day},bing,cpc,brand,20\n")
    import_spend(loaded.store, path, at=datetime.now(UTC) + timedelta(seconds=1))
    rows = campaign_return(loaded.store, CampaignSpec(SINCE, UNTIL)).campaigns
    spend = {(r.utm_source, r.utm_campaign): r.spend for r in rows}
    assert spend[("bing", "brand")] == 20.0 and spend[("bing", "")] == 70.0


def test_bad_rows_are_named_and_good_rows_load(loaded: Loaded, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "date,utm_source,spend,currency\n"
        "2026-13-01,google,1,EUR\n"
        ",google,1,EUR\n"
        "2026-05-02,,1,EUR\n"
        "2026-05-02,google,-5,EUR\n"
        "2026-05-02,google,1.5,USD\n"
        "2026-05-02,google,1.5,EURO\n"
        "2026-05-02,google,2,EUR,extra\n"
        "2026-05-02,newsletter,2.25,EUR\n"
        "1900-01-01,google,1,EUR\n"  # ClickHouse's Date would store these as 1970-01-01
        "9999-12-31,google,1,EUR\n"  # and 2149-06-06
    )
    result = import_spend(loaded.store, path)
    reasons = dict(result.rejected)
    assert result.imported == 1 and len(reasons) == 9
    assert reasons[10] == "date: 1900-01-01 is outside 1970-01-01 to 2149-06-06"
    assert reasons[11].startswith("date: 9999-12-31 is outside")
    assert reasons[2].startswith("date:") and reasons[3].startswith("date:")
    assert reasons[4] == "utm_source: empty" and reasons[5].startswith("spend:")
    assert reasons[6] == "currency: USD, but the spend is in EUR"
    assert reasons[7].startswith("currency:") and reasons[8] == "more cells than columns"
    (tmp_path / "nohead.csv").write_text("day,source,amount\n")
    with pytest.raises(SpendImportError, match="no column 'date'"):
        import_spend(loaded.store, tmp_path / "nohead.csv")
    (tmp_path / "twice.csv").write_text("date,utm_source,spend,spend\n2026-05-02,a,1,2\n")
    with pytest.raises(SpendImportError, match="twice.csv: column 'spend' appears twice"):
        import_spend(loaded.store, tmp_path / "twice.csv")
    huge = "date,utm_source,spend\n2026-05-02,a,1\n2026-05-02," + "x" * 140_000 + ",1\n"
    (tmp_path / "huge.csv").write_text(huge)
    with pytest.raises(SpendImportError, match=r"huge.csv: line 3: a cell longer than 128 KiB"):
        import_spend(loaded.store, tmp_path / "huge.csv")


def test_bad_specs_name_the_field() -> None:
    with pytest.raises(SpecError, match="lookback_days"):
        CampaignSpec(SINCE, UNTIL, lookback_days=0).validate()
    with pytest.raises(SpecError, match=r"segments\[0\]"):
        CampaignSpec(SINCE, UNTIL, segments=("No",)).validate()

"""An experiment's results equal a plain-Python reference on a random log (two devices, identify
mid-journey, replays, bots, exposures outside the experiment's dates, people who saw two
variants), on the ClickHouse server, chDB and the cluster; and a lift planted in one segment is
found there, within its interval, and not in the other."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzer.experiments import analysis
from analyzer.experiments.assignment import hashed_variant
from analyzer.experiments.definition import Experiment, Metric, parse_document
from storage import migrations
from storage.store import Store
from tests.analyzer.reference import journeys, matches
from tests.helpers import insert_events

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=21)
MS = int(START.timestamp() * 1000)
DAY = 86_400_000
COLUMNS = [
    "event_id",
    "type",
    "event",
    "anonymous_id",
    "user_id",
    "timestamp",
    "timestamp_ms",
    "properties",
    "device_type",
]
# the planted effect: VIPs shown the offer convert at 45% instead of 20%; new customers at 20%
# in both variants
RATES = {("vip", "offer"): 0.45, ("vip", "holdout"): 0.2, ("new", "offer"): 0.2}


def experiment() -> Experiment:
    (found,) = parse_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": "vip-offer",
                    "segments": ["vip", "new"],
                    "variants": [{"name": "holdout", "weight": 1}, {"name": "offer", "weight": 1}],
                    "metric": {
                        "name": "orders",
                        "converts": ["Product Added", "Order Completed"],
                        "within": "7d",
                    },
                    "guardrails": [
                        {
                            "name": "revenue",
                            "revenue": {"event": "Order Completed", "property": "revenue"},
                            "within": "7d",
                        }
                    ],
                    "minimum_effect": 0.1,
                    "start": START.isoformat(),
                    "end": END.isoformat(),
                }
            ],
        }
    )
    return found


def random_log(seed: int, persons: int = 700) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    xp = experiment()
    events: list[dict[str, Any]] = []

    def add(kind: str, name: str, anon: str, user: str, ms: int, **props: Any) -> None:
        bot = props.pop("bot", False)
        events.append(
            {
                "event_id": f"x{seed}-{len(events):06d}",
                "type": kind,
                "event": name,
                "anonymous_id": anon,
                "user_id": user,
                "previous_id": "",
                "timestamp": ms // 1000,
                "timestamp_ms": ms,
                "properties": json.dumps(props, separators=(",", ":")),
                "device_type": "bot" if bot else "desktop",
            }
        )

    for p in range(persons):
        devices = [f"a{seed}-{p}-{d}" for d in range(rng.choice([1, 1, 2]))]
        user = f"u{seed}-{p}" if len(devices) > 1 or rng.random() < 0.4 else ""
        segment = rng.choice(["vip", "new"])
        seen = MS + rng.randrange(-2 * DAY, 23 * DAY)  # some before the start, some after the end
        identified = seen + rng.randrange(-DAY, 3 * DAY)

        def uid(
            ms: int, device: str, user: str = user, at: int = identified, first: str = devices[0]
        ) -> str:
            return user if user and (ms >= at or device != first) else ""

        if user:
            for device in devices:
                at = identified if device == devices[0] else seen + rng.randrange(DAY, 9 * DAY)
                add("identify", "", device, user, at)
        for _ in range(rng.choice([0, 0, 1, 2])):  # before the exposure: CUPED's covariate
            at = seen - rng.randrange(1, 6 * DAY)
            add("track", "Order Completed", devices[0], uid(at, devices[0]), at, revenue=30)
        variant = hashed_variant(xp, devices[0])
        props = {"experiment": "vip-offer", "variant": variant, "segment": segment}
        add("track", "Experiment Viewed", devices[0], uid(seen, devices[0]), seen, **props)
        if len(devices) > 1 and rng.random() < 0.5:  # seen again on the other device
            at = seen + rng.randrange(0, 5 * DAY)
            other = hashed_variant(xp, devices[1])
            again = {"experiment_id": "vip-offer", "variation_id": other, "segment": segment}
            add("track", "Experiment Viewed", devices[1], uid(at, devices[1]), at, **again)
        rate = RATES.get((segment, variant), 0.2)
        if rng.random() < rate:
            late = rng.random() < 0.15  # after the 7 days
            added = seen + rng.randrange(1, 2 * DAY) + (7 * DAY if late else 0)
            device = rng.choice(devices)
            add("track", "Product Added", device, uid(added, device), added)
            paid = added + rng.randrange(0, DAY)
            revenue = round(rng.uniform(20, 120), 2)
            add("track", "Order Completed", device, uid(paid, device), paid, revenue=revenue)
        elif rng.random() < 0.3:  # ordered before adding: not a conversion
            at = seen + rng.randrange(1, DAY)
            add("track", "Order Completed", devices[0], uid(at, devices[0]), at, revenue=15)
            add("track", "Product Added", devices[0], uid(at + 5, devices[0]), at + 5)
    for b in range(40):  # bots are never counted
        at = MS + rng.randrange(0, 20 * DAY)
        props = {"experiment": "vip-offer", "variant": "offer", "segment": "vip"}
        add("track", "Experiment Viewed", f"bot-{b}", "", at, bot=True, **props)
        add("track", "Product Added", f"bot-{b}", "", at + 1000, bot=True)
        add("track", "Order Completed", f"bot-{b}", "", at + 2000, bot=True, revenue=5)
    other = {"experiment": "another", "variant": "offer", "segment": "vip"}
    add("track", "Experiment Viewed", "someone", "", MS + DAY, **other)
    unknown = {"experiment": "vip-offer", "variant": "retired", "segment": "vip"}
    add("track", "Experiment Viewed", "someone-else", "", MS + DAY, **unknown)
    return events


def load(store: Store, events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    migrations.apply(store)
    rng = random.Random(seed)
    rows = [tuple(e[c] for c in COLUMNS) for e in events]
    rows += rng.sample(rows, len(rows) // 7)  # replays
    rng.shuffle(rows)
    for i in range(0, len(rows), 2000):
        insert_events(store, COLUMNS, rows[i : i + 2000])
    ties = dict(
        store.execute(
            f"SELECT DISTINCT event_id, cityHash64(event_id) FROM {store.database}.events"
        )
    )
    return [{**e, "tie": int(ties[e["event_id"]])} for e in events]


def reference(
    events: list[dict[str, Any]], xp: Experiment, metric: Metric, until: datetime
) -> dict[tuple[str, str], list[float]]:
    """(variant, segment) -> [n, y, yy, x, xx, xy, crossed] computed person by person."""
    to_ms = int(until.timestamp() * 1000)
    window = int(metric.within.total_seconds() * 1000)
    names = [v.name for v in xp.variants]
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 7)
    humans = [e for e in events if e["device_type"] != "bot"]
    for rows in journeys(humans).values():
        exposures = []
        for i, r in enumerate(rows):
            props = json.loads(r.properties)
            key = props.get("experiment") or props.get("experiment_id")
            variant = props.get("variant") or props.get("variation_id")
            if (
                r.type == "track"
                and r.event == "Experiment Viewed"
                and key == xp.key
                and MS <= r.timestamp_ms < to_ms
                and variant in names
            ):
                exposures.append((i, variant, props.get("segment", "")))
        if not exposures:
            continue
        e0, variant, segment = exposures[0]
        t0 = rows[e0].timestamp_ms
        if metric.converts:
            position = e0
            for step in metric.converts:
                found = next(
                    (
                        i
                        for i in range(position + 1, len(rows))
                        if matches(step, rows[i]) and rows[i].timestamp_ms <= t0 + window
                    ),
                    None,
                )
                if found is None:
                    position = -1
                    break
                position = found
            y = float(position >= 0)
            last = metric.converts[-1]
            x = float(
                sum(
                    1
                    for i in range(e0)
                    if matches(last, rows[i]) and rows[i].timestamp_ms + window >= t0
                )
            )
        else:

            def revenue(i: int, rows: list[Any] = rows) -> float:
                r = rows[i]
                if r.type != "track" or r.event != metric.revenue_event:
                    return 0.0
                value = json.loads(r.properties).get(metric.revenue_property, 0)
                return float(value) if isinstance(value, (int, float)) else 0.0

            y = sum(
                revenue(i) for i in range(e0 + 1, len(rows)) if rows[i].timestamp_ms <= t0 + window
            )
            x = sum(revenue(i) for i in range(e0) if rows[i].timestamp_ms + window >= t0)
        crossed = len({v for _, v, _ in exposures}) > 1
        figures = out[(variant, segment)]
        for k, value in enumerate((1, y, y * y, x, x * x, x * y, crossed)):
            figures[k] += value
    return dict(out)


def test_every_metrics_sums_equal_the_reference(store: Store) -> None:
    events = load(store, random_log(5), 5)
    xp = experiment()
    until = END
    for metric in (xp.metric, *xp.guardrails):
        sql, params = analysis.metric_sql(xp, metric, store.database, until)
        got = {
            (str(v), str(s)): [float(x) for x in rest] for v, s, *rest in store.execute(sql, params)
        }
        expected = reference(events, xp, metric, until)
        assert set(got) == set(expected)
        for key, figures in expected.items():
            assert got[key] == pytest.approx(figures, rel=1e-9, abs=1e-6), (metric.name, key)


@pytest.mark.engines("embedded")  # the statistics; the SQL is held to the reference above
def test_the_planted_lift_is_found_where_it_was_planted_and_not_elsewhere(store: Store) -> None:
    load(store, random_log(8, persons=1500), 8)
    result = analysis.analyze(store, experiment(), END + timedelta(days=30))
    assert result.as_of == END and result.crossed > 0
    assert not result.sample_ratio_mismatch, result.sample_ratio_p_value
    orders = result.metrics[0]
    by_segment = {g.segment: g for g in orders.groups}
    vip = next(f for f in by_segment["vip"].variants if f.variant == "offer")
    new = next(f for f in by_segment["new"].variants if f.variant == "offer")
    assert vip.lift is not None and new.lift is not None
    # planted: 0.45 - 0.2, less the 15% of conversions that come after the window
    planted = (0.45 - 0.2) * 0.85
    assert vip.lift["absolute_low"] < planted < vip.lift["absolute_high"]
    assert vip.significant and vip.lift["p_value"] < 0.001
    assert new.lift["absolute_low"] < 0 < new.lift["absolute_high"] and not new.significant
    assert result.people_needed is not None and 200 < result.people_needed < 600
    assert orders.variance_reduction is not None and orders.variance_reduction >= 0
    assert [m.name for m in result.metrics] == ["orders", "revenue"]
    assert result.metrics[1].guardrail and result.metrics[1].kind == "revenue"


AA_EXPERIMENTS = 100


def _aa_log(persons: int, seed: int) -> list[tuple[Any, ...]]:
    """Everyone sees AA_EXPERIMENTS A/A experiments (variants by the hash, as served) and one
    whose exposures were logged 45/55 under a 50/50 design; a fifth buy within a day, whatever
    they were shown."""
    rng = random.Random(seed)
    rows: list[tuple[Any, ...]] = []
    tests = [_aa(f"aa-{i}") for i in range(AA_EXPERIMENTS)]

    def add(event: str, anon: str, ms: int, props: dict[str, Any]) -> None:
        text = json.dumps(props, separators=(",", ":"))
        rows.append((f"aa{len(rows)}", "track", event, anon, "", ms // 1000, ms, text, "desktop"))

    for p in range(persons):
        anon = f"aa-visitor-{seed}-{p}"
        seen = MS + rng.randrange(0, 10 * DAY)
        for test in tests:
            shown = {"experiment": test.key, "variant": hashed_variant(test, anon)}
            add("Experiment Viewed", anon, seen, shown)
        skewed = "a" if rng.random() < 0.45 else "b"
        add("Experiment Viewed", anon, seen, {"experiment": "skewed", "variant": skewed})
        if rng.random() < 0.2:
            add("Buy", anon, seen + rng.randrange(1, DAY), {})
    return rows


def _aa(key: str) -> Experiment:
    (found,) = parse_document(
        {
            "version": 1,
            "experiments": [
                {
                    "key": key,
                    "variants": [{"name": "a"}, {"name": "b"}],
                    "metric": {"name": "buys", "converts": ["Buy"], "within": "7d"},
                    "start": START.isoformat(),
                    "end": END.isoformat(),
                }
            ],
        }
    )
    return found


@pytest.mark.engines("embedded")
def test_a_a_experiments_find_differences_at_the_nominal_rate(store: Store) -> None:
    """With nothing planted, about 5% of A/A experiments look significant at 5%, and the 95%
    intervals cover no difference about 95% of the time; a 45/55 split under a 50/50 design is
    flagged as a sample ratio mismatch, and the A/A splits are not."""
    migrations.apply(store)
    rows = _aa_log(1500, 21)
    for i in range(0, len(rows), 50_000):
        insert_events(store, COLUMNS, rows[i : i + 50_000])
    p_values, covered, srm = [], 0, 0
    for i in range(AA_EXPERIMENTS):
        result = analysis.analyze(store, _aa(f"aa-{i}"), END)
        (b,) = [f for f in result.metrics[0].groups[0].variants if f.lift]
        assert b.lift is not None and result.people == 1500
        p_values.append(b.lift["p_value"])
        covered += b.lift["absolute_low"] <= 0 <= b.lift["absolute_high"]
        srm += result.sample_ratio_mismatch
    positives = sum(p < 0.05 for p in p_values)
    assert 0 < positives <= 12, positives  # 5 expected; 12 or more has probability < 0.5%
    assert covered >= 88, covered  # 95 expected
    assert srm <= 1
    skewed = analysis.analyze(store, _aa("skewed"), END)
    assert skewed.sample_ratio_mismatch and skewed.sample_ratio_p_value < 0.001  # type: ignore[operator]
    assert any("sample ratio mismatch" in w for w in skewed.warnings)

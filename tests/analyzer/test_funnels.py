"""Funnels against the independent reference (tests/analyzer/reference.py) on random logs with
replayed duplicates, ties in time, out-of-order arrival and identify in the middle of journeys;
and against ClickHouse's own windowFunnel where the semantics match. Every test runs on the
ClickHouse 18.16 server and on chDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzer import touchpoints
from analyzer.correlation import CorrelationSpec, correlation
from analyzer.errors import SpecError
from analyzer.funnels import Exclusion, FunnelSpec, analyze, dropped, trend
from analyzer.funnels.report import reached
from analyzer.funnels.spec import Gap
from analyzer.identity import with_person
from analyzer.journeymap import EVERYONE, JourneyMapSpec, journey_map
from analyzer.vocabulary import Breakdown, Filter, Step
from reports.analyses import run
from reports.params import ParamError, Params
from storage.store import Store
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.logs import T0, load, random_log

pytestmark = pytest.mark.integration

START = datetime.fromtimestamp(T0 / 1000, UTC)
HOUR = timedelta(hours=1)


def spec(*steps: Step | str, **kwargs: object) -> FunnelSpec:
    values: dict[str, object] = {
        "date_from": START,
        "date_to": START + 8 * HOUR,
        "window": HOUR,
        **kwargs,
    }
    return FunnelSpec(
        steps=tuple(s if isinstance(s, Step) else Step(s) for s in steps),
        **values,  # type: ignore[arg-type]
    )


PRODUCT_12 = Filter("page_path", "eq", "/product/12")
PRODUCT_PAGE = Step("", (Filter("type", "eq", "page"), Filter("page_path", "match", "^/product/")))
PRODUCT_PAGE_GOOGLE = Step("", (*PRODUCT_PAGE.filters, Filter("utm_source", "eq", "google")))
SPECS = {
    "ordered": spec("View", "Cart", "Buy"),
    "filters": spec(
        Step("View", (Filter("page_path", "match", r"^/product/\d+$"),)),
        Step("Cart", (Filter("page_path", "in", ["/product/12", "/cart"]),)),
        "View",
        Step("Buy", (Filter("properties.plan", "eq", "pro"),)),
        window=3 * HOUR,
        date_from=START + HOUR,
        date_to=START + 5 * HOUR,
    ),
    "neq": spec(Step("Other", (Filter("page_path", "neq", "/home"),)), "Buy", window=2 * HOUR),
    "strict": spec("View", "Cart", window=2 * HOUR, mode="strict"),
    "strict3": spec("View", "Other", "Buy", window=4 * HOUR, mode="strict"),
    "any": spec("View", "Cart", "Buy", mode="any"),
    "excluded": spec(
        "View",
        "Cart",
        "Buy",
        window=2 * HOUR,
        exclusions=(Exclusion(Step("Error")), Exclusion(Step("Other"), after=2, before=3)),
    ),
    "any_excluded": spec("Cart", "Buy", mode="any", exclusions=(Exclusion(Step("Error")),)),
    "first_touch": spec("View", "Cart", "Buy", breakdown=Breakdown("utm_source")),
    # a combination of fields, two of its values' parts sometimes empty
    "two_fields": spec(
        "View", "Cart", breakdown=Breakdown("utm_source", more=("properties.plan",)), mode="any"
    ),
    "three_fields_last": spec(
        "View",
        "Cart",
        "Buy",
        breakdown=Breakdown("page_path", "last_touch", more=("utm_source", "properties.nope")),
    ),  # fmt: skip
    "last_touch": spec("View", "Cart", "Buy", breakdown=Breakdown("properties.plan", "last_touch")),
    "at_step": spec("View", "Cart", "Buy", breakdown=Breakdown("properties.plan", "step", step=2)),
    "person": spec("View", "Cart", "Buy", breakdown=Breakdown("person.tier")),
    # touchpoint sets: a step reached through any of several touchpoints, some events matching
    # two of them (a View on /product/12 is both), a page view named by its path alone
    "touchpoints": spec(
        Step("interest", any_of=(Step("View"), Step("View", (PRODUCT_12,)), PRODUCT_PAGE)),
        "Cart",
        Step("checkout", any_of=(Step("Buy"), Step("", (Filter("page_path", "eq", "/checkout"),)))),
        window=2 * HOUR,
        exclusions=(Exclusion(Step("trouble", any_of=(Step("Error"), Step("Other")))),),
        breakdown=Breakdown("utm_source"),
    ),
    "strict_touchpoints": spec(
        Step("interest", any_of=(Step("View"), PRODUCT_PAGE)),
        "Cart",
        window=2 * HOUR,
        mode="strict",
    ),
    "strict_person": spec("View", "Cart", mode="strict", breakdown=Breakdown("person.tier")),
    # a time allowed between steps: a window of its own, a least time, both
    "gaps": spec(
        "View",
        "Cart",
        "Buy",
        gaps=(Gap(2, most=timedelta(minutes=30)), Gap(3, least=timedelta(minutes=20))),
    ),  # fmt: skip
    "gaps_strict": spec(
        "View",
        "Other",
        mode="strict",
        window=4 * HOUR,
        gaps=(Gap(2, timedelta(minutes=10), timedelta(hours=2)),),
    ),  # fmt: skip
    "gaps_excluded_held": spec(
        "View",
        "Cart",
        window=3 * HOUR,
        hold="session",
        session_timeout=45,
        gaps=(Gap(2, most=timedelta(hours=1)),),
        exclusions=(Exclusion(Step("Error")),),
    ),  # fmt: skip
    # a value held constant: every later step has the first step's plan, or is in its session
    "held": spec("View", "Cart", hold="properties.plan", breakdown=Breakdown("utm_source")),
    "held_strict": spec("View", "Other", mode="strict", window=4 * HOUR, hold="properties.plan"),
    "held_any": spec("Cart", "View", "Buy", mode="any", hold="properties.plan"),
    "session": spec("View", "Cart", "Buy", hold="session", session_timeout=30),
    "session_strict": spec("View", "Other", mode="strict", hold="session", session_timeout=30),
    "session_person": spec(
        "View", "Cart", hold="session", session_timeout=30, breakdown=Breakdown("person.tier")
    ),
}


# The kinds of funnel added later (breakdowns by several fields, gaps, a value held) are
# each read on one of the two logs, the one where each converts at every step.
ONE_LOG = {
    "two_fields", "three_fields_last", "gaps", "gaps_strict", "gaps_excluded_held", "held",
    "held_strict", "held_any", "session", "session_strict", "session_person",
}  # fmt: skip


@pytest.mark.parametrize(
    ("seed", "name"),
    [(seed, name) for name in SPECS for seed in (1, 2) if seed == 2 or name not in ONE_LOG],
    ids=lambda x: str(x),
)
def test_funnel_matches_the_reference(loaded: dict[int, Loaded], seed: int, name: str) -> None:
    data, s = loaded[seed], SPECS[name]
    got = analyze(data.store, s)
    expected = reference.funnel(data.events, s)
    assert [
        (r.people, r.median_seconds_from_previous, r.p90_seconds_from_previous) for r in got.steps
    ] == expected["steps"]
    assert got.excluded == expected["excluded"]
    assert [(h.from_step, h.to_step, [b.people for b in h.bins]) for h in got.time_to_convert] == (
        expected["histograms"]
    )
    breakdown = {
        g.value: [
            (r.people, r.median_seconds_from_previous, r.p90_seconds_from_previous) for r in g.steps
        ]
        for g in got.breakdown
    }
    assert breakdown == (expected["breakdown"] if s.breakdown else {})
    assert expected["steps"][0][0] > 10 and expected["steps"][1][0] > 0  # not a trivial case
    if s.exclusions:
        assert expected["excluded"] > 0
    if s.gaps or s.hold is not None:  # the gaps or the value held lose some conversions
        free = reference.funnel(data.events, replace(s, gaps=(), hold=None))
        held, anyway = [x[0] for x in expected["steps"]], [x[0] for x in free["steps"]]
        assert all(a <= b for a, b in zip(held, anyway, strict=True)) and held != anyway


def test_a_step_naming_a_touchpoint_set_reads_its_latest_version(
    loaded: dict[int, Loaded],
) -> None:
    """``set:NAME`` through the reports (as the CLI, API and saved reports ask), its touchpoints
    narrowed by the step's filters, then the set redefined: the next report reads version 2."""
    data = loaded[1]
    product_page = {
        "where": [
            {"field": "type", "op": "eq", "value": "page"},
            {"field": "page_path", "op": "match", "value": "^/product/"},
        ]
    }

    def define(*any_of: object) -> dict[str, int]:
        doc = {"version": 1, "touchpoints": [{"name": "interest", "any_of": list(any_of)}]}
        return touchpoints.define(data.store, touchpoints.parse_document(doc))

    def report(*steps: str) -> list[int]:
        p = Params.of(
            step=steps,
            since=START.isoformat(),
            until=(START + 8 * HOUR).isoformat(),
            window="1h",
        )
        return [s["people"] for s in run(data.store, "funnel", p).data["steps"]]

    assert define("View", product_page) == {"interest": 1}
    google = Filter("utm_source", "eq", "google")
    inline = spec(Step("interest", any_of=(Step("View", (google,)), PRODUCT_PAGE_GOOGLE)), "Cart")
    expected = [people for people, *_ in reference.funnel(data.events, inline)["steps"]]
    assert report("set:interest|utm_source=google", "Cart") == expected
    assert expected[1] > 0

    assert define("Other") == {"interest": 2}
    expected = [p for p, *_ in reference.funnel(data.events, spec("Other", "Cart"))["steps"]]
    assert report("set:interest", "Cart") == expected

    with pytest.raises(ParamError, match="step: set:nowhere: no touchpoint set of that name"):
        report("set:nowhere", "Cart")


def _chi2_p(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """Two proportions compared by scipy's chi-square test of the 2x2 table (no continuity
    correction): the same question as the pooled z-test, answered by other code."""
    from scipy.stats import chi2_contingency

    table = [[hits_a, n_a - hits_a], [hits_b, n_b - hits_b]]
    return float(chi2_contingency(table, correction=False)[1])


def test_journey_map_matches_the_reference(loaded: dict[int, Loaded]) -> None:
    """Stages of touchpoint sets, by traffic source, the second half of the log against the
    first: reach, conversion and time equal the reference's funnels of both periods, p-values
    equal scipy's, and the stall is the least converting stage with enough people."""
    data = loaded[2]
    stages = (
        Step("interest", any_of=(Step("View"), PRODUCT_PAGE)),
        Step("Cart"),
        Step("checkout", any_of=(Step("Buy"), Step("", (Filter("page_path", "eq", "/checkout"),)))),
    )
    half = START + 4 * HOUR
    jm = JourneyMapSpec(stages, half, START + 8 * HOUR, HOUR, Breakdown("utm_source"), min_sample=5)
    got = journey_map(data.store, jm)
    assert (got.previous_from, got.previous_to) == (START, half)

    def funnel(date_from: datetime, date_to: datetime) -> dict[str, Any]:
        s = FunnelSpec(stages, date_from, date_to, HOUR, breakdown=Breakdown("utm_source"))
        return reference.funnel(data.events, s)

    now, then = funnel(half, START + 8 * HOUR), funnel(START, half)
    expected = {EVERYONE: (now["steps"], then["steps"])}
    expected.update({v: (steps, then["breakdown"].get(v)) for v, steps in now["breakdown"].items()})
    assert got.groups[0].value == EVERYONE
    assert sorted(g.value for g in got.groups[1:]) == sorted(now["breakdown"])
    judged = 0
    for g in got.groups:
        current, previous = expected[g.value]
        assert [
            (s.people, s.median_seconds_from_previous, s.p90_seconds_from_previous)
            for s in g.stages
        ] == current
        assert [s.previous_people for s in g.stages] == [p[0] for p in previous or [(0,)] * 3]
        for k, s in enumerate(g.stages[1:], start=1):
            assert s.conversion_from_previous == pytest.approx(
                current[k][0] / current[k - 1][0] if current[k - 1][0] else 0.0
            )
            n_now, n_then = current[k - 1][0], previous[k - 1][0] if previous else 0
            if n_then == 0:  # nobody to compare with: no change, rather than one against 0 %
                assert s.change is None and s.previous_conversion_from_previous is None
            else:
                assert previous is not None and s.change == pytest.approx(
                    s.conversion_from_previous - previous[k][0] / n_then
                )
            if min(n_now, n_then) >= 5:
                assert previous is not None and s.p_value is not None
                assert s.p_value == pytest.approx(
                    _chi2_p(current[k][0], n_now, previous[k][0], n_then), abs=1e-9
                )
                assert s.significant == (s.p_value < 0.05)
                judged += 1
            else:
                assert s.p_value is None and not s.significant
        entered = [k for k in range(1, 3) if current[k - 1][0] >= 5]
        if entered:
            rates = {k + 1: current[k][0] / current[k - 1][0] for k in entered}
            assert g.stalls_at == min(rates, key=lambda k: (rates[k], k))
        else:
            assert g.stalls_at is None
    assert judged >= 2  # not a trivial case


@pytest.mark.parametrize(
    ("name", "step", "value"),
    [("ordered", 1, None), ("any", 2, None), ("excluded", 1, None), ("first_touch", 1, "")],
)
def test_drop_off_correlation_matches_the_reference(
    loaded: dict[int, Loaded], name: str, step: int, value: str | None
) -> None:
    """Who had each event, field value and person trait, among those who dropped after a step
    and those who converted (everyone, or the people of one breakdown value), equals the
    reference; shares, odds ratios, p-values (scipy's chi-square) and Benjamini-Hochberg
    adjustment (scipy's false_discovery_control) agree."""
    from scipy.stats import false_discovery_control

    data = loaded[1]
    fields = ("page_path", "utm_source", "properties.plan", "person.tier")
    spec = CorrelationSpec(SPECS[name], step=step, fields=fields, min_count=3, top=500, value=value)
    got = correlation(data.store, spec)
    converted, dropped, counts = reference.correlation(data.events, spec)
    assert (got.converted, got.dropped) == (converted, dropped) and min(converted, dropped) >= 3
    tested = {item: dc for item, dc in counts.items() if sum(dc) >= 3}
    assert got.tested == len(tested) == len(got.items) > 3
    assert {(i.field, i.value): (i.dropped, i.converted) for i in got.items} == tested
    assert {i.field for i in got.items} >= {"event", "person.tier"}
    adjusted = false_discovery_control([i.p_value for i in got.items])
    for item, q in zip(got.items, adjusted, strict=True):
        d, c = item.dropped, item.converted
        assert item.p_value == pytest.approx(_chi2_p(d, dropped, c, converted), abs=1e-9)
        assert item.adjusted_p_value == pytest.approx(q)
        assert item.odds_ratio == pytest.approx(
            (d + 0.5) * (converted - c + 0.5) / ((c + 0.5) * (dropped - d + 0.5))
        )
        assert (item.dropped_share, item.converted_share) == (d / dropped, c / converted)
    assert [i.adjusted_p_value for i in got.items] == sorted(i.adjusted_p_value for i in got.items)


@pytest.mark.parametrize("limit", [1, 3])
def test_breakdown_shows_the_most_entered_values_first(
    loaded: dict[int, Loaded], limit: int
) -> None:
    """Values travel as hashes: the texts read back are the shown ones, most people first, ties
    by name, and every value is counted."""
    s = spec("View", "Cart", breakdown=Breakdown("page_path"), breakdown_limit=limit)
    got = analyze(loaded[1].store, s)
    expected = reference.funnel(loaded[1].events, s)["breakdown"]
    ranked = sorted(expected, key=lambda v: (-expected[v][0][0], v))
    assert [g.value for g in got.breakdown] == [*ranked[:limit], "(other)"]
    assert got.breakdown_values == len(expected) > limit
    other = got.breakdown[-1].steps  # the rest together, their people added
    rest = [sum(expected[v][k][0] for v in ranked[limit:]) for k in range(2)]
    assert [s.people for s in other] == rest
    assert other[1].median_seconds_from_previous is None  # not known for the rest together


def test_stage_conversion_and_drop_off_add_up(loaded: dict[int, Loaded]) -> None:
    steps = analyze(loaded[1].store, SPECS["ordered"]).steps
    for before, after in zip(steps, steps[1:], strict=False):
        assert before.dropped == before.people - after.people
        assert after.conversion_from_previous == pytest.approx(after.people / before.people)
        assert after.conversion_from_start == pytest.approx(after.people / steps[0].people)
    assert steps[-1].dropped == 0


@pytest.mark.parametrize("name", ["ordered", "excluded", "first_touch", "person"])
def test_reached_counts_match_the_reference(loaded: dict[int, Loaded], name: str) -> None:
    data, s = loaded[1], SPECS[name]
    got = reached(data.store, s)
    expected = reference.funnel(data.events, s)
    assert got.pop(None) == [people for people, _, _ in expected["steps"]]
    by_value = {v or "(none)": counts for v, counts in got.items() if counts[0]}
    assert by_value == {
        value: [people for people, _, _ in steps]
        for value, steps in (expected["breakdown"] if s.breakdown else {}).items()
    }


@pytest.mark.parametrize("interval", ["day", "week"])
def test_trend_matches_the_reference(loaded: dict[int, Loaded], interval: str) -> None:
    data = loaded[2]
    s = spec("View", "Buy", date_from=START - 10 * 24 * HOUR, date_to=START + 8 * HOUR)
    got = [(p.period.isoformat(), p.reached) for p in trend(data.store, s, interval)]
    assert got == reference.trend(data.events, s, interval)
    assert all(p.conversion == p.converted / p.entered for p in trend(data.store, s, interval))


def test_people_who_dropped_at_a_step(loaded: dict[int, Loaded]) -> None:
    data = loaded[1]
    s = SPECS["first_touch"]
    people = reference.funnel_people(data.events, s)
    for step in (1, 2):
        got = dropped(data.store, s, step)
        expected = sorted(p for p, v in people.items() if v["level"] == step)
        assert [d.person_id for d in got] == expected
        assert all(d.value == people[d.person_id]["value"] for d in got)
        assert all(
            int(d.last_step_at.timestamp() * 1000) == people[d.person_id]["times"][step - 1]
            for d in got
        )
    page = dropped(data.store, s, 1, limit=3, offset=2)
    assert [d.person_id for d in page] == sorted(p for p, v in people.items() if v["level"] == 1)[
        2:5
    ]


def test_levels_agree_with_clickhouse_windowfunnel(store: Store) -> None:
    load(store, random_log(seed=5, ties=False), seed=5)
    s = spec(
        "View",
        "Cart",
        "Buy",
        window=timedelta(seconds=3603),
        date_from=START - timedelta(seconds=1),
        date_to=START + 9 * HOUR,
    )
    ours = [r.people for r in analyze(store, s).steps]
    src = with_person(store.database, ["event", "timestamp"])
    rows = store.execute(
        "SELECT level, count() FROM (SELECT person_id, windowFunnel(3603)(timestamp, "
        "event = 'View', event = 'Cart', event = 'Buy') AS level "
        f"FROM {src} GROUP BY person_id) WHERE level > 0 GROUP BY level"
    )
    by_level = dict(rows)
    assert ours == [sum(c for lv, c in by_level.items() if lv >= k) for k in (1, 2, 3)]


def test_a_named_identify_outside_the_range_is_no_step(store: Store) -> None:
    """Identify calls of any time join a person's timeline for their traits; one carrying a
    step's name (a hand-made payload can) before or after the range read counts for no step,
    however far away (the ordered search keeps such times at the range's edges)."""
    at = START + HOUR
    ms = int(at.timestamp() * 1000)
    base = {
        "anonymous_id": "a1",
        "user_id": "",
        "previous_id": "",
        "page_path": "/",
        "utm_source": "",
        "properties": "{}",
        "traits": "{}",
    }
    rows = [
        {**base, "event_id": "v", "type": "track", "event": "View", "timestamp_ms": ms},
        {**base, "event_id": "c", "type": "track", "event": "Cart", "timestamp_ms": ms + 1000},
    ]
    for i, off in enumerate((-400 * 86_400_000, 3 * 86_400_000, 900 * 86_400_000)):
        traits = '{"tier":"gold"}'
        rows.append(
            {
                **base,
                "event_id": f"i{i}",
                "type": "identify",
                "event": "Buy",
                "user_id": "u1",
                "traits": traits,
                "timestamp_ms": ms + off,
            }
        )
    load(store, [{**r, "timestamp": r["timestamp_ms"] // 1000} for r in rows], seed=1)
    s = spec("View", "Cart", "Buy", date_from=at, date_to=at + HOUR)
    for b in (None, Breakdown("person.tier")):
        got = analyze(store, replace(s, breakdown=b))
        assert [x.people for x in got.steps] == [1, 1, 0], b


def test_an_attempt_started_in_the_range_gets_its_whole_window(store: Store) -> None:
    """The date range says when attempts start: one starting an hour before ``until`` converts
    with a step six hours past it (within its window); one starting before ``since`` is not
    counted, even with every later step inside the range. Holding a property, the cart of the
    first step must be the cart of the last."""
    since, until = START + 2 * HOUR, START + 10 * HOUR
    base = {"user_id": "", "previous_id": "", "page_path": "/", "utm_source": "", "traits": "{}"}

    def event(n: str, who: str, name: str, at: datetime, cart: str) -> dict[str, Any]:
        ms = int(at.timestamp() * 1000)
        props = f'{{"cart_id":"{cart}"}}'
        return {**base, "event_id": n, "anonymous_id": who, "type": "track", "event": name,
                "timestamp_ms": ms, "timestamp": ms // 1000, "properties": props}  # fmt: skip

    rows = [
        event("a1", "late", "View", until - HOUR, "c1"),
        event("a2", "late", "Buy", until + 6 * HOUR, "c1"),
        event("b1", "early", "View", since - HOUR, "c2"),
        event("b2", "early", "Buy", since + HOUR, "c2"),
        event("c1", "switch", "View", since + HOUR, "c3"),
        event("c2", "switch", "Buy", since + 2 * HOUR, "c4"),
    ]
    rows = load(store, rows, seed=1)
    s = spec("View", "Buy", date_from=since, date_to=until, window=timedelta(days=1))
    assert [x.people for x in analyze(store, s).steps] == [2, 2]  # late and switch
    held = analyze(store, replace(s, hold="properties.cart_id"))
    assert [x.people for x in held.steps] == [2, 1]  # switch changed carts
    assert reference.funnel(rows, s)["steps"][1][0] == 2  # the reference reads it so too


BAD = [
    ({"gaps": (Gap(1, most=HOUR),)}, r"gaps\[0\]\.step"),
    ({"gaps": (Gap(2, most=HOUR), Gap(2))}, r"gaps\[1\]\.step"),
    ({"gaps": (Gap(2, 2 * HOUR, HOUR),)}, r"gaps\[0\]\.most"),
    ({"gaps": (Gap(2, 30 * 24 * HOUR),)}, r"gaps\[0\]\.least"),
    ({"mode": "any", "gaps": (Gap(2, most=HOUR),)}, "gaps"),
    ({"hold": "nope"}, "hold"),
    ({"hold": "person.tier"}, "hold"),
    ({"hold": "session", "session_timeout": 0}, "session_timeout"),
    ({"steps": (Step("A"),)}, "steps"),
    ({"steps": (Step("A"), Step(""))}, r"steps\[1\]\.event"),
    (
        {"steps": (Step("A", (Filter("password", "eq", "x"),)), Step("B"))},
        r"steps\[0\]\.filters\[0\]\.field",
    ),
    ({"steps": (Step("A", (Filter("page_path", "match", "("),)), Step("B"))}, "regular expr"),
    ({"date_to": START}, "date_from"),
    ({"window": timedelta(days=365)}, "window"),
    ({"mode": "sometimes"}, "mode"),
    ({"exclusions": (Exclusion(Step("E"), after=2, before=2),)}, r"exclusions\[0\]"),
    ({"mode": "any", "exclusions": (Exclusion(Step("E"), after=1, before=1),)}, "exclusions"),
    ({"breakdown": Breakdown("secret")}, "breakdown.field"),
    ({"breakdown": Breakdown("utm_source", "middle")}, "breakdown.attribution"),
    ({"breakdown": Breakdown("utm_source", "step", step=9)}, "breakdown.step"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_specs_name_the_field(change: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "steps": (Step("A"), Step("B")),
        "date_from": START,
        "date_to": START + HOUR,
        **change,
    }
    with pytest.raises(SpecError, match=message):
        FunnelSpec(**values).validate()  # type: ignore[arg-type]

"""Trends against the plain-Python reference on random logs (replays, ties, identify
mid-journey), on the server, chDB and the cluster: every measure, per hour, by a column, by
a property and by a person trait with the rest as (other), for an event and for a touchpoint
set, with the previous period alongside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzer.errors import SpecError
from analyzer.trends import TrendSpec, trend
from analyzer.vocabulary import Breakdown, Filter, Step
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.logs import T0

pytestmark = pytest.mark.integration

START = datetime.fromtimestamp(T0 / 1000, UTC)
HOUR = timedelta(hours=1)
INTEREST = Step("interest", any_of=(Step("View"), Step("", (Filter("type", "eq", "page"),))))


def _compare(got: Any, expected: dict[tuple[str, bool], Any]) -> None:
    values = [s.value for s in got.series]
    assert sorted(values) == sorted({v for v, _ in expected}), values
    for s in got.series:
        if (s.value, False) not in expected:  # a series of the period before alone
            assert not any(s.points) and not s.total, s.value
            now, total = s.points, s.total
        else:
            now, total = expected[(s.value, False)]
        then, previous_total = expected.get((s.value, True), ([None] * len(now), None))
        assert s.points == pytest.approx(now), s.value
        assert s.total == pytest.approx(total), s.value
        if (s.value, True) in expected:
            assert s.previous == pytest.approx(then), s.value
            assert s.previous_total == pytest.approx(previous_total), s.value


def _hourly(event: Step, measure: str, breakdown: Breakdown | None, top: int) -> TrendSpec:
    """Per hour over hours 4 to 8 of the logs (the previous period: hours 0 to 4)."""
    return TrendSpec(
        event,
        START + 4 * HOUR,
        START + 8 * HOUR,
        interval="hour",
        measure=measure,
        property="price" if measure in ("sum", "average") else None,
        breakdown=breakdown,
        top=top,
    )


TWO_FIELDS = Breakdown("utm_source", more=("properties.plan",))


@pytest.mark.parametrize(
    ("measure", "event", "breakdown"),
    [
        *(
            (measure, event, breakdown)
            for measure in ("events", "people", "sum", "average")
            for event, breakdown in (
                (Step("View"), None),
                (INTEREST, Breakdown("utm_source")),
                (Step("Buy"), Breakdown("properties.plan")),
            )
        ),
        # a combination of fields, counting people and summing
        ("people", INTEREST, TWO_FIELDS),
        ("sum", INTEREST, TWO_FIELDS),
    ],
    ids=lambda x: str(x) if isinstance(x, str) else None,
)
def test_trend_matches_the_reference(
    loaded: dict[int, Loaded], measure: str, event: Step, breakdown: Breakdown | None
) -> None:
    data = loaded[1]
    top = 2 if breakdown and breakdown.field == "utm_source" else 5
    spec = _hourly(event, measure, breakdown, top)
    got = trend(data.store, spec)
    assert got.buckets == [START + 4 * HOUR + i * HOUR for i in range(4)]
    assert got.previous_buckets == [START + i * HOUR for i in range(4)]
    expected = reference.event_trend(data.events, spec)
    _compare(got, expected)
    assert got.series[0].value == "(all)" and got.series[0].total  # not a trivial case
    _ranked(got)


@pytest.mark.parametrize(("measure", "top"), [("people", 5), ("sum", 1)])
def test_trend_by_a_person_trait(loaded: dict[int, Loaded], measure: str, top: int) -> None:
    """Each event counts for its person's latest identify value before the period's end (one
    value per person, identify mid-journey included), people with none as (none); all values
    read at once (top 5) or the top one first and the rest as (other) (top 1)."""
    spec = _hourly(INTEREST, measure, Breakdown("person.tier"), top)
    got = trend(loaded[1].store, spec)
    expected = reference.event_trend(loaded[1].events, spec)
    _compare(got, expected)
    values = {s.value for s in got.series}  # (none): people never identified with a tier
    if top == 5:
        assert values == {"(all)", "gold", "silver", "(none)"}
    else:  # the top value, then the other one and (none) together
        assert len(values) == 3 and "(other)" in values, values
    _ranked(got)


def _ranked(got: Any) -> None:
    """The breakdown's series come by their total, largest first, then by name; (other) last."""
    values = [s for s in got.series[1:] if s.value != "(other)" and s.total is not None]
    assert values == sorted(values, key=lambda s: (-s.total, s.value.replace("(none)", "")))
    assert "(other)" not in [s.value for s in got.series[1:-1]]


@pytest.mark.parametrize("measure", ["people", "average"])
def test_a_value_of_the_previous_period_alone_is_in_other(
    loaded: dict[int, Loaded], measure: str
) -> None:
    """Fewer values than the top in both periods together are read once; one seen only in
    the period before is (other) there, as when the top values are read first."""
    spec = TrendSpec(
        Step("Buy"),
        START + 7 * HOUR,
        START + 8 * HOUR,
        interval="hour",
        measure=measure,
        property="price" if measure == "average" else None,
        breakdown=Breakdown("page_path"),
        top=5,
    )
    got = trend(loaded[1].store, spec)
    expected = reference.event_trend(loaded[1].events, spec)
    assert ("(other)", True) in expected and ("(other)", False) not in expected
    _compare(got, expected)
    _ranked(got)


def test_a_day_and_a_month_are_one_bucket_of_an_eight_hour_log(loaded: dict[int, Loaded]) -> None:
    data = loaded[2]
    day = TrendSpec(Step("View"), START, START + 8 * HOUR, interval="day", measure="people")
    got = trend(data.store, day)
    expected = reference.event_trend(data.events, day)
    _compare(got, expected)
    month = trend(data.store, TrendSpec(Step("View"), START, START + 8 * HOUR, interval="month"))
    assert month.buckets == [START] and month.series[0].points == [month.series[0].total]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": "minute"}, "interval: 'minute' is not one of hour, day, week, month"),
        ({"measure": "median"}, "measure: 'median' is not one of events, people, sum, average"),
        ({"measure": "sum"}, "property: a property path"),
        ({"property": "price"}, "property: only with measure sum or average"),
        (
            {"breakdown": Breakdown("utm_source", "last_touch")},
            "breakdown: a column or properties.<path>",
        ),
        ({"breakdown": Breakdown("person.")}, "breakdown.field"),
        ({"top": 0}, "top: from 1 to 50 values"),
        ({"date_to": START + timedelta(days=200), "interval": "hour"}, "at most 2000 buckets"),
    ],
)
def test_bad_specs_name_the_field(change: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"event": Step("View"), "date_from": START, "date_to": START + HOUR}
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrendSpec(**{**values, **change}).validate()

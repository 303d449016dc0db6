"""Retention cohorts and lifecycle against the reference, on a log spanning months, on the
ClickHouse server and on chDB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.errors import SpecError
from analyzer.retention import LifecycleSpec, RetentionSpec, lifecycle, retention
from analyzer.vocabulary import Step
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.logs import T0, load, random_log
from tests.conftest import WITH_CLUSTER, drop_store, open_store

pytestmark = pytest.mark.integration

START = datetime.fromtimestamp(T0 / 1000, UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module", params=WITH_CLUSTER)
def months(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[Loaded]:
    store = open_store(request.param, request, chdb_path)
    events = random_log(21, persons=120, span_s=90 * 86400, events_per_device=(2, 25))
    yield Loaded(store, load(store, events, 21))
    drop_store(store)


SPECS = {
    "weekly_first": RetentionSpec(Step("View"), Step("Buy"), START + 7 * DAY, START + 50 * DAY),
    "daily_recurring": RetentionSpec(
        Step("Cart"),
        Step("View"),
        START,
        START + 20 * DAY,
        period="day",
        periods=10,
        mode="recurring",
    ),
    "monthly": RetentionSpec(
        Step("View"), Step("View"), START - 20 * DAY, START + 80 * DAY, period="month", periods=3
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_retention_matches_the_reference(months: Loaded, name: str) -> None:
    spec = SPECS[name]
    got = retention(months.store, spec)
    expected = dict(reference.retention(months.events, spec))
    cohorts = {c.period: c.retained for c in got.cohorts if c.people}
    assert cohorts == expected
    assert sum(c.people for c in got.cohorts) > 20 and any(sum(r[1:]) for r in cohorts.values())
    for c in got.cohorts:
        assert c.people == c.retained[0]
        assert c.rates == [r / c.people if c.people else 0.0 for r in c.retained]


@pytest.mark.parametrize(
    ("period", "mode", "returning"),
    [("week", "first_time", "View"), ("month", "recurring", "Buy"), ("day", "recurring", "View")],
)
def test_revenue_retention_matches_the_reference(
    months: Loaded, period: str, mode: str, returning: str
) -> None:
    """The sum of a property over the cohort's return events in each period, beside the
    people, who are as without it."""
    spec = RetentionSpec(
        Step("View"), Step(returning), START + 10 * DAY, START + 40 * DAY, period=period,
        periods=3, mode=mode, measure="sum", property="price",
    )  # fmt: skip
    got = retention(months.store, spec)
    expected = reference.retention_sums(months.events, spec)
    sums = {c.period: c.sums for c in got.cohorts if c.people}
    assert sums.keys() == expected.keys()
    for day, found in sums.items():
        assert found == pytest.approx(expected[day]), day
    assert any(sum(s[1:]) for s in expected.values())  # later periods bring revenue too
    if period == "week":  # the people are as without the sum
        people = retention(months.store, replace(spec, measure="people", property=None))
        assert [c.retained for c in got.cohorts] == [c.retained for c in people.cohorts]
    for c in got.cohorts:
        assert c.per_person == [s / c.people if c.people else 0.0 for s in c.sums or []]


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_lifecycle_matches_the_reference(months: Loaded, period: str) -> None:
    date_from, date_to = START + 10 * DAY, START + 70 * DAY
    got = lifecycle(months.store, LifecycleSpec(Step("View"), date_from, date_to, period))
    expected = reference.lifecycle(months.events, Step("View"), date_from, date_to, period)
    for p in got:
        number = reference.period_key(
            int(
                datetime(p.period.year, p.period.month, p.period.day, tzinfo=UTC).timestamp() * 1000
            ),
            period,
        )[1]
        counts = expected.get(number, {})
        assert (p.new, p.returning, p.resurrecting, p.dormant) == tuple(
            counts.get(s, 0) for s in ("new", "returning", "resurrecting", "dormant")
        ), p
    assert sum(p.returning for p in got) > 0 and sum(p.dormant for p in got) < 0


def test_bad_retention_specs_name_the_field() -> None:
    cases = [
        (RetentionSpec(Step("A"), Step("B"), START, START + DAY, period="year"), "period"),
        (RetentionSpec(Step("A"), Step("B"), START, START + DAY, periods=0), "periods"),
        (RetentionSpec(Step("A"), Step("B"), START, START + DAY, mode="x"), "mode"),
        (RetentionSpec(Step(""), Step("B"), START, START + DAY), "start.event"),
        (
            RetentionSpec(Step("A"), Step("B"), START, START + 400 * DAY, period="day"),
            "cohorts",
        ),
    ]
    for spec, message in cases:
        with pytest.raises(SpecError, match=message):
            spec.validate()

"""Stickiness against the reference: per week, per month and over the range, for an event, a
touchpoint set and a filtered step, on the ClickHouse server, chDB and the cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analyzer.errors import SpecError
from analyzer.stickiness import EVERYONE, StickinessSpec, stickiness
from analyzer.vocabulary import Filter, Step
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.logs import T0

pytestmark = pytest.mark.integration

# 20 hours before the log's first event: its 8 hours fall on the range's days 0 and 1
START = datetime.fromtimestamp(T0 / 1000, UTC) - timedelta(hours=20)
INTEREST = Step("interest", any_of=(Step("View"), Step("", (Filter("page_path", "eq", "/cart"),))))


@pytest.mark.parametrize(
    ("event", "per", "days"),
    [
        (Step("View"), "range", 2),
        (INTEREST, "week", 3),
        (Step("Buy", (Filter("properties.plan", "neq", "pro"),)), "month", 40),
    ],
)
def test_stickiness_matches_the_reference(
    loaded: dict[int, Loaded], event: Step, per: str, days: int
) -> None:
    data = loaded[2]
    spec = StickinessSpec(event, START, START + timedelta(days=days), per=per)
    got = stickiness(data.store, spec)
    expected = reference.stickiness(data.events, spec)
    (everyone,) = got.groups
    assert everyone.value == EVERYONE
    assert (everyone.people, everyone.observations) == (
        expected["people"],
        expected["observations"],
    )
    assert {d.days: d.count for d in everyone.days if d.count} == expected["days"]
    assert len(everyone.days) == got.most_days == {"week": 7, "month": 31, "range": days}[per]
    assert sum(d.share for d in everyone.days) == pytest.approx(1.0)
    assert everyone.average_days == pytest.approx(
        sum(n * c for n, c in expected["days"].items()) / expected["observations"]
    )
    assert expected["people"] > 10
    assert max(expected["days"]) == 2  # people active on both days are told apart


def test_bad_stickiness_specs_name_the_field() -> None:
    start = START
    for bad, name in [
        (StickinessSpec(Step("View"), start, start + timedelta(days=1), per="year"), "per"),
        (StickinessSpec(Step(""), start, start + timedelta(days=1)), "event"),
        (StickinessSpec(Step("View"), start, start, per="week"), "date_from"),
        (StickinessSpec(Step("View"), start, start + timedelta(days=1), segment="x y"), "segment"),
    ]:
        with pytest.raises(SpecError) as caught:
            bad.validate()
        assert caught.value.field.startswith(name)

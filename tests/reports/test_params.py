"""Report parameters: each read once, checked, and every error names its parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analyzer.vocabulary import Filter
from reports.params import ParamError, Params, parse_step


def test_steps_with_filters() -> None:
    step = parse_step("Product Viewed|page_path~^/product/|properties.plan in pro, team")
    assert step.event == "Product Viewed"
    assert step.filters == (
        Filter("page_path", "match", "^/product/"),
        Filter("properties.plan", "in", ["pro", "team"]),
    )


@pytest.mark.parametrize(
    ("values", "read", "name", "words"),
    [
        ({"window": ["7x"]}, lambda p: p.duration("window"), "window", "not a duration"),
        ({"window": ["0d"]}, lambda p: p.duration("window"), "window", "at least 1s"),
        ({"top": ["ten"]}, lambda p: p.integer("top"), "top", "whole number"),
        ({"top": ["501"]}, lambda p: p.integer("top"), "top", "1 to 500"),
        ({"top": ["1", "2"]}, lambda p: p.integer("top"), "top", "more than once"),
        ({"mode": ["up"]}, lambda p: p.choice("mode"), "mode", "not one of ordered, strict, any"),
        ({"since": ["soon"]}, lambda p: p.period(), "since", "not a date"),
        ({"step": []}, lambda p: p.steps(), "step", "required"),
        ({"step": ["|a=b"]}, lambda p: p.steps(), "step", "names no event"),
        ({"exclude": ["A@x"]}, lambda p: p.exclusions(), "exclude", "A-B"),
        (
            {"attribution": ["step:x"], "breakdown": ["utm_source"]},
            lambda p: p.breakdown(),
            "attribution",
            "step:N",
        ),
    ],
)
def test_errors_name_the_parameter(values: dict, read: object, name: str, words: str) -> None:
    with pytest.raises(ParamError) as caught:
        read(Params(values).declare("paths" if "top" in values else "funnel"))  # type: ignore[operator]
    assert caught.value.name == name and words in str(caught.value)


def test_values_are_bounded_before_anything_reads_them() -> None:
    with pytest.raises(ParamError, match="at most 50 values"):
        Params({"step": ["A"] * 51})
    with pytest.raises(ParamError, match="up to 2000 characters"):
        Params({"start": ["x" * 2001]})
    with pytest.raises(ParamError, match="up to 2000 characters"):
        Params({"start": ["a\x00b"]})


def test_unread_parameters_are_refused_by_name() -> None:
    p = Params({"step": ["A", "B"], "widow": ["7d"]}).declare("lifecycle")
    with pytest.raises(LookupError):
        p.steps()  # lifecycle declares no step: a reader asking for one is a bug in it
    p = Params({"step": ["A", "B"], "widow": ["7d"]}).declare("funnel")
    p.steps()
    p.duration("window")
    with pytest.raises(ParamError) as caught:
        p.done()
    assert caught.value.name == "widow" and "step, trend, until, window" in str(caught.value)


def test_a_parameter_declared_but_not_used_with_the_others_is_refused() -> None:
    p = Params({"mode": ["strict"]}).declare("paths")
    p.optional_integer("dropped_at")
    with pytest.raises(ParamError) as caught:
        p.done()
    assert caught.value.name == "mode" and "not used" in str(caught.value)


def test_the_default_period_is_the_last_30_days_through_today() -> None:
    today = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    since, until = Params({}).declare("funnel").period(today)
    assert since == datetime(2026, 2, 8, tzinfo=UTC)
    assert until - since == timedelta(days=31)


def test_of_leaves_out_what_was_not_given() -> None:
    p = Params.of(step=("A", "B"), window=None, top=5, exclude=())
    assert p.as_dict() == {"step": ["A", "B"], "top": ["5"]}


def test_the_longest_period_is_the_one_set() -> None:
    given = {"since": ["2020-01-01"], "until": ["2023-01-01"]}
    with pytest.raises(ParamError) as caught:
        Params(given).declare("funnel").period()
    assert caught.value.name == "until" and "at most 731 days" in str(caught.value)
    assert "JOURNEY_LONGEST_RANGE_DAYS" in str(caught.value)
    since, until = Params(given).declare("funnel", longest_days=1200).period()
    assert (since.year, until.year) == (2020, 2023)


def test_all_time_starts_on_the_day_of_the_first_event_the_report_reads() -> None:
    asked: list[bool] = []

    def first(bots: bool) -> datetime | None:
        asked.append(bots)
        return datetime(2025, 6, 3, 17, 45, tzinfo=UTC)

    today = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    p = Params({"since": ["all"]}).declare("funnel", first=first)
    assert p.period(today) == (datetime(2025, 6, 3, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    p = Params({"since": ["All"], "include_bots": ["true"]}).declare("trends", first=first)
    p.period(today)
    assert asked == [False, True]  # bots' events count only where the report reads them


def test_all_time_longer_than_the_longest_period_names_since() -> None:
    p = Params({"since": ["all"]}).declare(
        "funnel", first=lambda bots: datetime(1999, 12, 31, 23, 0, tzinfo=UTC)
    )
    with pytest.raises(ParamError) as caught:
        p.period(datetime(2026, 3, 10, tzinfo=UTC))
    assert caught.value.name == "since"
    assert "from 1999-12-31" in str(caught.value) and "731 days" in str(caught.value)


def test_all_time_of_an_empty_store_is_the_default_period() -> None:
    today = datetime(2026, 3, 10, tzinfo=UTC)
    p = Params({"since": ["all"]}).declare("funnel", first=lambda bots: None)
    assert p.period(today) == (datetime(2026, 2, 8, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    with pytest.raises(ParamError, match="needs a store"):
        Params({"since": ["all"]}).declare("funnel").period(today)

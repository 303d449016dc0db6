"""The query names its own bound values: two parts of one statement never take the same name,
and each value reaches the SQL only as a placeholder."""

from __future__ import annotations

import pytest

from analyzer.errors import SpecError
from analyzer.query import Query
from analyzer.vocabulary import Filter, Step
from storage.sql import bind


def test_a_step_binds_its_event_and_filters_under_names_of_the_querys_own() -> None:
    query = Query()
    step = Step(
        "Order Completed",
        (Filter("properties.coupon", "in", ["a'b", "c"]), Filter("utm_source", "match", "^g")),
    )
    sql = query.step(step)
    assert sql == (
        "(event = %(_event0)s AND visitParamExtractString(property_paths, %(_path1)s) IN "
        "%(_f2)s AND match(utm_source, %(_f3)s))"
    )
    assert query.values == {
        "_event0": "Order Completed",
        "_path1": "coupon",
        "_f2": ("a'b", "c"),
        "_f3": "^g",
    }
    assert "'a\\'b'" in bind(sql, query.values)


def test_parts_sharing_values_never_take_the_same_name() -> None:
    values = {"_event0": "taken", "since": 1}
    first, second = Query(values), Query(values)
    a = first.step(Step("A", (Filter("page_path", "eq", "/x"),)))
    b = second.step(Step("B"))
    assert values["_event0"] == "taken"  # what was bound before keeps its value
    assert len(values) == 5 and len(set(values)) == 5
    assert "%(_event0)s" not in a + b
    touchpoints = Query().step(
        Step("set:checkout", any_of=(Step("A"), Step("", (Filter("page_path", "eq", "/c"),))))
    )
    assert touchpoints.startswith("((event = ") and " OR (" in touchpoints


def test_a_touchpoint_set_must_be_resolved_before_sql() -> None:
    with pytest.raises(SpecError) as caught:
        Query().step(Step("set:checkout"))
    assert caught.value.field == "'set:checkout'"


def test_a_name_bound_twice_keeps_one_value() -> None:
    query = Query()
    assert query.bind("from_s", 1) == "%(from_s)s"
    assert query.bind("from_s", 1) == "%(from_s)s"  # the same value again: the same name
    with pytest.raises(ValueError, match="from_s"):
        query.bind("from_s", 2)


def test_correlation_binds_each_property_it_compares() -> None:
    """Two property fields of one correlation are two values of its statement (each field's
    path once bound under the same name, the second read the first's path)."""
    from datetime import UTC, datetime, timedelta

    from analyzer.correlation import CorrelationSpec, _people_sql
    from analyzer.funnels.people import PersonFunnel
    from analyzer.funnels.spec import FunnelSpec

    funnel = FunnelSpec(
        (Step("View"), Step("Buy")),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
        timedelta(days=1),
    )
    spec = CorrelationSpec(funnel, step=1, fields=("properties.plan", "properties.price"))
    q = PersonFunnel(funnel, "journey")
    sql = _people_sql(spec, q)
    paths = {n: v for n, v in q.values.items() if v in ("plan", "price")}
    assert sorted(paths.values()) == ["plan", "price"]
    assert all(f"%({n})s" in sql for n in paths)


def test_a_scorecard_reading_a_csat_trait_keeps_its_purchase_event() -> None:
    """The trait's features bind the purchase event too: one statement, one value (the
    features' default used to replace the scorecard's own)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from analyzer.segments.scorecard import ScorecardSpec, person_sql

    spec = ScorecardSpec(
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
        purchase_event="Purchase",
        revenue_property="amount",
        csat_trait="nps",
    )
    _, values = person_sql(SimpleNamespace(database="journey"), spec, ())  # type: ignore[arg-type]
    assert (values["purchase_event"], values["revenue_property"]) == ("Purchase", "amount")

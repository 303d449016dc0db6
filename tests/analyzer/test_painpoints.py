"""Pain points: stage counts, comparisons and evidence against the reference, on the
ClickHouse server and on chDB; the z-test against known values."""

from __future__ import annotations

import pytest

from analyzer.correlation import CorrelationSpec
from analyzer.errors import SpecError
from analyzer.painpoints import PainPointSpec, painpoints, z_test
from tests.analyzer import reference
from tests.analyzer.conftest import Loaded
from tests.analyzer.test_funnels import SPECS

pytestmark = pytest.mark.integration


def test_z_test_matches_known_values() -> None:
    # 45/100 against 30/100: pooled 0.375, z = 2.191, two-sided p = 0.0285
    assert z_test(45, 100, 30, 100) == pytest.approx(0.0285, abs=1e-4)
    assert z_test(0, 0, 3, 10) is None
    assert z_test(5, 10, 5, 10) == pytest.approx(1.0)


@pytest.mark.parametrize("value", ["google", "facebook"])
def test_painpoints_match_the_reference(loaded: dict[int, Loaded], value: str) -> None:
    data = loaded[2]
    spec = PainPointSpec(SPECS["ordered"], "utm_source", value, min_sample=5)
    report = painpoints(data.store, spec)
    expected = reference.funnel(data.events, SPECS["first_touch"])
    mine = [s[0] for s in expected["breakdown"][value]]
    everyone = [s[0] for s in expected["steps"]]
    assert report.people == mine[0]
    assert len(report.stages) == 2
    correlated = 0
    for point in report.stages:
        s = point.stage
        assert (point.entered, point.dropped) == (mine[s - 1], mine[s - 1] - mine[s])
        others_entered = everyone[s - 1] - mine[s - 1]
        others_dropped = others_entered - (everyone[s] - mine[s])
        assert point.others is not None
        assert (point.others.entered, point.others.dropped) == (others_entered, others_dropped)
        assert point.others.p_value == pytest.approx(
            z_test(point.dropped, point.entered, others_dropped, others_entered)
        )
        assert point.previous is not None and point.previous.entered == 0  # no earlier data
        nexts, sides = reference.painpoint_evidence(data.events, spec, s)
        assert {d.element: d.people for d in point.went_instead} == dict(
            sorted(nexts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        )
        dropped_n, loops, errors = sides[False]
        assert point.loops_dropped == pytest.approx(loops / dropped_n if dropped_n else 0.0)
        assert point.errors_dropped == pytest.approx(errors / dropped_n if dropped_n else 0.0)
        conv_n, conv_loops, conv_errors = sides[True]
        assert point.loops_converted == pytest.approx(conv_loops / conv_n if conv_n else 0.0)
        assert point.errors_converted == pytest.approx(conv_errors / conv_n if conv_n else 0.0)
        assert point.reasons  # every stage says something
        # the events and values most different between the segment's dropped and converted
        converted, dropped, counts = reference.correlation(
            data.events,
            CorrelationSpec(SPECS["first_touch"], step=s, min_count=5, value=value),
        )
        tested = {item: dc for item, dc in counts.items() if sum(dc) >= 5}
        if min(converted, dropped):
            correlated += len(point.correlated)
            assert len(point.correlated) == min(5, len(tested))
        assert all(tested[i.field, i.value] == (i.dropped, i.converted) for i in point.correlated)
    assert correlated
    ranked = [p for p in report.stages if p.ranked]
    assert [p.excess_dropped for p in ranked] == sorted(
        (p.excess_dropped for p in ranked), reverse=True
    )


def test_bad_painpoint_specs_name_the_field() -> None:
    cases = [
        (PainPointSpec(SPECS["ordered"], "nope", "x"), "breakdown.field"),
        (PainPointSpec(SPECS["ordered"], "utm_source", "x", min_sample=0), "min_sample"),
        (PainPointSpec(SPECS["ordered"], "utm_source", "x", alpha=2), "alpha"),
        (PainPointSpec(SPECS["ordered"], "utm_source", "x", error_pattern="("), "error_pattern"),
        (PainPointSpec(SPECS["first_touch"], "utm_source", "x"), "funnel.breakdown"),
    ]
    for spec, message in cases:
        with pytest.raises(SpecError, match=message):
            spec.validate()

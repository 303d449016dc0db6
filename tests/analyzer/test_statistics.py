"""The shared statistics against textbook values and independent computations."""

from __future__ import annotations

import math
import statistics as std

import pytest

from analyzer import statistics


def test_estimates_agree_with_the_standard_library() -> None:
    values = [3.0, 5.0, 8.0, 13.0, 21.0]
    got = statistics.mean(sum(values), sum(v * v for v in values), len(values))
    assert got.value == pytest.approx(std.mean(values))
    assert got.se == pytest.approx(std.stdev(values) / math.sqrt(len(values)))
    assert statistics.share(30, 120) == statistics.Estimate(0.25, math.sqrt(0.25 * 0.75 / 120), 120)
    assert statistics.mean(0, 0, 0).value is None and statistics.share(0, 0).se is None


def test_a_ratio_by_the_delta_method() -> None:
    events, sessions = [4, 6, 3, 9], [2, 3, 1, 3]
    got = statistics.ratio(
        4, sum(events), sum(sessions), sum(e * e for e in events),
        sum(s * s for s in sessions), sum(e * s for e, s in zip(events, sessions, strict=True)),
    )  # fmt: skip
    assert got.value == pytest.approx(22 / 9)
    assert got.se is not None and 0 < got.se < 1


def test_two_proportions() -> None:
    # 200 of 1000 against 260 of 1000: pooled 0.23, se 0.018820, z = -3.1881
    assert statistics.two_proportion(200, 1000, 260, 1000) == pytest.approx(0.001432, abs=1e-6)
    assert statistics.lower_than(200, 1000, 260, 1000) == pytest.approx(0.000716, abs=1e-6)
    assert statistics.lower_than(260, 1000, 200, 1000) == pytest.approx(1 - 0.000716, abs=1e-6)
    assert statistics.two_proportion(0, 0, 1, 2) is None
    assert statistics.two_proportion(5, 5, 7, 7) == 1.0  # no spread


def test_a_difference_with_its_interval() -> None:
    a, b = statistics.Estimate(0.10, 0.01, 1000), statistics.Estimate(0.14, 0.011, 1000)
    d = statistics.difference(a, b)
    assert d is not None
    se = math.hypot(0.01, 0.011)
    assert (d.value, d.low, d.high) == pytest.approx(
        (0.04, 0.04 - 1.96 * se, 0.04 + 1.96 * se), abs=1e-4
    )
    assert d.p_value == pytest.approx(math.erfc(0.04 / se / math.sqrt(2)))
    assert statistics.difference(a, statistics.Estimate(None, None, 0)) is None

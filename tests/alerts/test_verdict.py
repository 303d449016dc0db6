"""Verdicts: thresholds, relative drops and the significance test, with minimum samples."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from alerts.rules import Condition
from alerts.verdict import Counts, judge, lower_p_value

BELOW = Condition("below", 0.2)
DROP = Condition("drop_percent", 25, "same_weekday", 4)
SIGNIFICANT = Condition("significant", 0.01, "same_weekday", 4)


def test_below_a_threshold() -> None:
    assert judge(BELOW, 100, Counts(200, 30), None).outcome == "breach"
    assert judge(BELOW, 100, Counts(200, 40), None).outcome == "ok"  # exactly 20%
    assert judge(BELOW, 100, Counts(99, 0), None).outcome == "insufficient"


def test_relative_drop_against_the_baseline() -> None:
    baseline = Counts(800, 240)  # 30%
    assert judge(DROP, 100, Counts(200, 44), baseline).outcome == "breach"  # 22%: -26.7%
    assert judge(DROP, 100, Counts(200, 46), baseline).outcome == "ok"  # 23%: -23.3%
    assert judge(DROP, 100, Counts(200, 20), Counts(90, 30)).outcome == "insufficient"
    assert judge(DROP, 100, Counts(200, 20), Counts(800, 0)).outcome == "insufficient"


def test_the_p_value_is_the_pooled_one_sided_z_test() -> None:
    current, baseline = Counts(300, 81), Counts(1200, 360)
    pooled = 441 / 1500
    z = (0.27 - 0.30) / math.sqrt(pooled * (1 - pooled) * (1 / 300 + 1 / 1200))
    assert lower_p_value(current, baseline) == pytest.approx(norm.cdf(z), rel=1e-12)
    assert lower_p_value(Counts(100, 0), Counts(100, 0)) == 1.0  # no variance, no drop


def test_noise_is_not_a_significant_drop_and_a_real_drop_is() -> None:
    baseline = Counts(1200, 360)
    noise = judge(SIGNIFICANT, 100, Counts(300, 81), baseline)  # 27% against 30%
    assert noise.outcome == "ok" and noise.p_value is not None and noise.p_value > 0.1
    drop = judge(SIGNIFICANT, 100, Counts(300, 30), baseline)
    assert drop.outcome == "breach" and drop.p_value is not None and drop.p_value < 1e-9
    # the same drop in a small sample says nothing
    assert judge(SIGNIFICANT, 100, Counts(40, 4), baseline).outcome == "insufficient"
    # a rise is never a drop
    assert judge(SIGNIFICANT, 100, Counts(300, 150), baseline).outcome == "ok"


def test_a_significant_drop_can_require_a_minimum_size() -> None:
    big = Condition("significant", 0.01, "previous", 4, min_drop_percent=20)
    baseline = Counts(100_000, 30_000)  # 30%
    tiny = judge(big, 100, Counts(100_000, 29_000), baseline)  # significant, only -3.3%
    assert tiny.p_value is not None and tiny.p_value < 0.01 and tiny.outcome == "ok"
    assert judge(big, 100, Counts(100_000, 20_000), baseline).outcome == "breach"

"""The experiments' statistics equal statsmodels' and scipy's on the same counts (their own
implementations, not ours), over many random cases."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats._delta_method import NonlinearDeltaCov
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from analyzer.experiments import stats
from analyzer.statistics import benjamini_hochberg

CASES = [
    (h1, n1, h0, n0)
    for seed in range(40)
    for rng in [random.Random(seed)]
    for n1, n0 in [(rng.randint(20, 20_000), rng.randint(20, 20_000))]
    for h1, h0 in [(rng.randint(1, n1 - 1), rng.randint(1, n0 - 1))]
]


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_wilson_intervals_equal_statsmodels(level: float) -> None:
    for hits, n, _, _ in CASES:
        ours = stats.wilson(hits, n, level)
        low, high = proportion_confint(hits, n, alpha=1 - level, method="wilson")
        assert ours is not None
        assert (ours.low, ours.high) == pytest.approx((low, high), rel=1e-9, abs=1e-12)
    assert stats.wilson(0, 0) is None


def test_the_lift_of_a_rate_equals_statsmodels() -> None:
    for h1, n1, h0, n0 in CASES:
        lift = stats.proportion_lift(h1, n1, h0, n0)
        assert lift is not None
        low, high = confint_proportions_2indep(h1, n1, h0, n0, compare="diff", method="newcomb")
        assert (lift.absolute_low, lift.absolute_high) == pytest.approx((low, high), rel=1e-9)
        low, high = confint_proportions_2indep(h1, n1, h0, n0, compare="ratio", method="log")
        assert lift.relative is not None
        assert (lift.relative_low, lift.relative_high) == pytest.approx(
            (low - 1, high - 1), rel=1e-9, abs=1e-12
        )
        _, p = proportions_ztest([h1, h0], [n1, n0])
        assert lift.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert lift.absolute == pytest.approx(h1 / n1 - h0 / n0)


def test_no_relative_lift_without_conversions_in_the_control() -> None:
    lift = stats.proportion_lift(5, 100, 0, 100)
    assert lift is not None and lift.relative is None and lift.p_value < 0.05
    assert stats.proportion_lift(1, 0, 1, 10) is None


def _moments(values: np.ndarray) -> stats.Moments:
    return stats.Moments(len(values), float(values.sum()), float((values**2).sum()))


def test_welch_equals_scipy_and_its_relative_lift_statsmodels_delta_method() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        t = rng.lognormal(1.0, 1.2, rng.integers(5, 3000)) * (rng.random() < 0.9)
        c = rng.lognormal(0.9, 1.0, rng.integers(5, 3000))
        lift = stats.welch(_moments(t), _moments(c))
        assert lift is not None
        expected = scipy_stats.ttest_ind(t, c, equal_var=False)
        assert lift.p_value == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-300)
        ci = expected.confidence_interval(0.95)
        assert (lift.absolute_low, lift.absolute_high) == pytest.approx((ci.low, ci.high), rel=1e-7)
        means = np.array([t.mean(), c.mean()])
        cov = np.diag([t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)])
        delta = NonlinearDeltaCov(lambda m: np.array([m[0] / m[1] - 1]), means, cov)
        assert lift.relative == pytest.approx(float(delta.predicted()[0]))
        assert lift.relative_high - lift.relative == pytest.approx(  # type: ignore[operator]
            1.959963984540054 * float(delta.se_vectorized()[0]), rel=1e-5
        )
    assert stats.welch(stats.Moments(1, 3, 9), stats.Moments(5, 5, 5)) is None


def test_cuped_is_welch_on_each_persons_adjusted_measure_and_shrinks_the_variance() -> None:
    rng = np.random.default_rng(11)
    groups, raw = [], []
    for effect in (0.0, 0.4):
        x = rng.poisson(3, 4000).astype(float)  # pre-exposure orders
        y = 0.8 * x + effect + rng.normal(0, 1, len(x))
        groups.append(
            stats.Paired(len(x), y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())
        )
        raw.append((x, y))
    x_all = np.concatenate([x for x, _ in raw])
    y_all = np.concatenate([y for _, y in raw])
    theta = np.cov(x_all, y_all)[0, 1] / x_all.var(ddof=1)
    assert stats.cuped_theta(groups) == pytest.approx(theta)
    adjusted = [y - theta * (x - x_all.mean()) for x, y in raw]
    control, treatment = stats.cuped(groups)
    for ours, values in zip((control, treatment), adjusted, strict=True):
        assert ours.mean == pytest.approx(values.mean())
        assert ours.variance == pytest.approx(values.var(ddof=1))
    lift = stats.welch(treatment, control)
    expected = scipy_stats.ttest_ind(adjusted[1], adjusted[0], equal_var=False)
    assert lift is not None and lift.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    plain = stats.welch(_moments(raw[1][1]), _moments(raw[0][1]))
    assert plain is not None
    narrower = (lift.absolute_high - lift.absolute_low) / (plain.absolute_high - plain.absolute_low)
    r = np.corrcoef(x_all, y_all)[0, 1]
    assert narrower == pytest.approx(math.sqrt(1 - r * r), rel=0.05)


def test_sample_ratio_mismatch_equals_scipys_chi_square() -> None:
    for counts, weights in [
        ([4500, 5500], [1, 1]),
        ([900, 8100], [10, 90]),
        ([30, 35, 41], [1, 1, 1]),
    ]:
        expected = scipy_stats.chisquare(counts, [sum(counts) * w / sum(weights) for w in weights])
        assert stats.sample_ratio_mismatch(counts, weights) == pytest.approx(expected.pvalue)
    assert stats.sample_ratio_mismatch([4500, 5500], [1, 1]) < stats.SRM_ALPHA  # type: ignore[operator]
    assert stats.sample_ratio_mismatch([4980, 5020], [1, 1]) > 0.5  # type: ignore[operator]


def test_people_needed_equals_statsmodels_power() -> None:
    power = NormalIndPower()
    for baseline, effect, level in [(0.1, 0.02, 0.95), (0.3, -0.05, 0.9), (0.02, 0.005, 0.99)]:
        h = proportion_effectsize(baseline + effect, baseline)
        # two-sided at the level, leaving out the far tail's power (statsmodels' "two-sided"
        # counts it: a few hundredths of a person in thousands)
        expected = power.solve_power(
            abs(h), alpha=(1 - level) / 2, power=0.8, ratio=1, alternative="larger"
        )
        assert stats.people_needed_rate(baseline, effect, level) == pytest.approx(
            expected, rel=1e-9
        )
        both = power.solve_power(abs(h), alpha=1 - level, power=0.8, ratio=1)
        assert stats.people_needed_rate(baseline, effect, level) == pytest.approx(both, rel=1e-4)
    expected = power.solve_power(5 / 40, alpha=0.025, power=0.9, ratio=1, alternative="larger")
    assert stats.people_needed_mean(40, 5, 0.95, 0.9) == pytest.approx(expected, rel=1e-9)
    assert stats.people_needed_rate(0.0, 0.1) is None


def test_benjamini_hochberg_equals_statsmodels() -> None:
    rng = random.Random(3)
    for _ in range(20):
        p = [rng.random() ** 3 for _ in range(rng.randint(1, 30))]
        assert benjamini_hochberg(p) == pytest.approx(list(multipletests(p, method="fdr_bh")[1]))

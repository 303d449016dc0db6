"""The statistics of an experiment, from the sums a query returns (never per-person rows).

- Conversion: each variant's rate with its Wilson interval; the lift over the control as an
  absolute difference (Newcombe's hybrid score interval, built from the two Wilson intervals)
  and a relative one (the log of the ratio, Katz), with the two-sided p-value of the pooled
  z-test.
- A measure per person (revenue): Welch's t-test and its interval for the difference of means;
  the relative lift by the delta method.
- CUPED: each person's measure less ``theta`` times their pre-exposure behaviour's distance
  from its mean (``theta`` the slope over everyone exposed), which keeps the difference and
  shrinks its variance by the squared correlation.
- Sample ratio mismatch: the chi-square test of the exposed counts against the weights.
- The people each variant needs to detect a given effect (normal approximation; the arcsine
  effect size for rates), at a level and power.

Intervals are two-sided at ``level``. They hold for one look at the data: looking every day
and stopping at the first significant answer inflates false positives (FALSE_POSITIVES_NOTE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as dist

FALSE_POSITIVES_NOTE = (
    "p-values and intervals hold for one look at a planned number of people; stopping the "
    "first time one looks significant makes false positives far more likely than the level "
    "says. Decide the people needed (people_needed) before starting, and read the result then."
)
SRM_ALPHA = 0.001  # a sample ratio mismatch at this level says the assignment is broken


def _z(level: float) -> float:
    return float(dist.norm.ppf(0.5 + level / 2))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(hits: float, n: float, level: float = 0.95) -> Interval | None:
    """The Wilson score interval of the rate ``hits / n``; None without people."""
    if n <= 0:
        return None
    z = _z(level)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(centre - half, centre + half)


@dataclass(frozen=True)
class Lift:
    """The treatment against the control: ``absolute`` = treatment - control, ``relative`` =
    treatment / control - 1 (None when the control is 0), each with its interval, and the
    two-sided p-value of no difference."""

    absolute: float
    absolute_low: float
    absolute_high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    p_value: float


def proportion_lift(
    hits_t: float, n_t: float, hits_c: float, n_c: float, level: float = 0.95
) -> Lift | None:
    """Treatment's rate ``hits_t / n_t`` against the control's; None without people."""
    wt, wc = wilson(hits_t, n_t, level), wilson(hits_c, n_c, level)
    if wt is None or wc is None:
        return None
    pt, pc = hits_t / n_t, hits_c / n_c
    diff = pt - pc
    low = diff - math.sqrt((pt - wt.low) ** 2 + (wc.high - pc) ** 2)
    high = diff + math.sqrt((wt.high - pt) ** 2 + (pc - wc.low) ** 2)
    pooled = (hits_t + hits_c) / (n_t + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = 1.0 if se == 0 else float(2 * dist.norm.sf(abs(diff) / se))
    relative = relative_low = relative_high = None
    if hits_t > 0 and hits_c > 0:
        ratio = pt / pc
        se_log = math.sqrt(1 / hits_t - 1 / n_t + 1 / hits_c - 1 / n_c)
        z = _z(level)
        relative = ratio - 1
        relative_low = ratio * math.exp(-z * se_log) - 1
        relative_high = ratio * math.exp(z * se_log) - 1
    return Lift(diff, low, high, relative, relative_low, relative_high, p_value)


@dataclass(frozen=True)
class Moments:
    """A measure over ``n`` people as its sum and its sum of squares."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (n - 1)."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def welch(treatment: Moments, control: Moments, level: float = 0.95) -> Lift | None:
    """Welch's t-test of the difference of means, its interval on the Welch-Satterthwaite
    degrees of freedom, and the relative lift by the delta method; None with fewer than two
    people in a variant or no spread at all."""
    if treatment.n < 2 or control.n < 2:
        return None
    vt, vc = treatment.variance / treatment.n, control.variance / control.n
    se = math.sqrt(vt + vc)
    if se == 0:
        return None
    df = (vt + vc) ** 2 / (vt * vt / (treatment.n - 1) + vc * vc / (control.n - 1))
    diff = treatment.mean - control.mean
    p_value = float(2 * dist.t.sf(abs(diff) / se, df))
    half = float(dist.t.ppf(0.5 + level / 2, df)) * se
    relative = relative_low = relative_high = None
    mt, mc = treatment.mean, control.mean
    if mc != 0:
        relative = mt / mc - 1
        se_rel = math.sqrt(vt / mc**2 + vc * mt**2 / mc**4)
        z = _z(level)
        relative_low, relative_high = relative - z * se_rel, relative + z * se_rel
    return Lift(diff, diff - half, diff + half, relative, relative_low, relative_high, p_value)


@dataclass(frozen=True)
class Paired:
    """A measure ``y`` and a covariate ``x`` (the same person's pre-exposure behaviour) over
    ``n`` people, as the sums CUPED needs."""

    n: int = 0
    y: float = 0.0
    yy: float = 0.0
    x: float = 0.0
    xx: float = 0.0
    xy: float = 0.0

    def __add__(self, other: Paired) -> Paired:
        return Paired(
            self.n + other.n,
            self.y + other.y,
            self.yy + other.yy,
            self.x + other.x,
            self.xx + other.xx,
            self.xy + other.xy,
        )

    @property
    def measure(self) -> Moments:
        """The measure alone, without its covariate."""
        return Moments(self.n, self.y, self.yy)


def cuped_theta(groups: Sequence[Paired]) -> float:
    """The slope of ``y`` on ``x`` over every group together (0 when ``x`` does not vary)."""
    n = sum(g.n for g in groups)
    if n < 2:
        return 0.0
    sx, sy = sum(g.x for g in groups), sum(g.y for g in groups)
    sxx, sxy = sum(g.xx for g in groups), sum(g.xy for g in groups)
    var_x = sxx - sx * sx / n
    return 0.0 if var_x <= 0 else (sxy - sx * sy / n) / var_x


def cuped(groups: Sequence[Paired]) -> list[Moments]:
    """Each group's measure adjusted by CUPED: ``y - theta * (x - mean of x over all)``."""
    theta = cuped_theta(groups)
    n = sum(g.n for g in groups)
    centre = sum(g.x for g in groups) / n if n else 0.0
    out = []
    for g in groups:
        total = g.y - theta * (g.x - g.n * centre)
        squares = (
            g.yy
            + theta * theta * (g.xx - 2 * centre * g.x + g.n * centre * centre)
            - 2 * theta * (g.xy - centre * g.y)
        )
        out.append(Moments(g.n, total, squares))
    return out


def sample_ratio_mismatch(counts: Sequence[int], weights: Sequence[float]) -> float | None:
    """The p-value of the chi-square test of ``counts`` against the shares ``weights`` give;
    None without people. Below SRM_ALPHA the assignment or the exposure logging is broken."""
    total = sum(counts)
    if total == 0 or len(counts) < 2:
        return None
    expected = [total * w / sum(weights) for w in weights]
    chi2 = sum((c - e) ** 2 / e for c, e in zip(counts, expected, strict=True) if e > 0)
    return float(dist.chi2.sf(chi2, len(counts) - 1))


def people_needed_rate(
    baseline: float, effect: float, level: float = 0.95, power: float = 0.8
) -> float | None:
    """People each of two variants needs to detect a rate moving from ``baseline`` by
    ``effect`` (absolute), two-sided at ``level``, with ``power`` (arcsine effect size)."""
    target = baseline + effect
    if not 0 < baseline < 1 or not 0 <= target <= 1 or effect == 0:
        return None
    h = 2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline))
    return 2 * ((_z(level) + float(dist.norm.ppf(power))) / h) ** 2


def people_needed_mean(
    deviation: float, effect: float, level: float = 0.95, power: float = 0.8
) -> float | None:
    """People each of two variants needs to detect a mean moving by ``effect`` when a person's
    measure has standard deviation ``deviation`` (normal approximation)."""
    if deviation <= 0 or effect == 0:
        return None
    return 2 * ((_z(level) + float(dist.norm.ppf(power))) * deviation / effect) ** 2

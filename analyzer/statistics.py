"""The statistics every report uses, in one place: estimates with their standard errors, the
difference of two with its interval and p-value, and two-proportion z-tests.

- Pain points: is a group's drop-off different from the others'? (two-sided ``two_proportion``)
- Alerts: is the current conversion lower than the baseline's? (one-sided ``lower_than``)
- Segment quality: is a segment distinct from everyone else? (effect sizes ``cohens_h`` for
  conversion, ``cohens_d`` for means, with ``two_proportion``)
- Segment scorecard: each metric as an ``Estimate`` (a share, a mean, or a ratio by the delta
  method) and two periods compared by ``difference``.

Normal approximations throughout; each caller applies its own minimum sample before trusting
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: 95% two-sided intervals


@dataclass(frozen=True)
class Estimate:
    """A figure, its standard error and the people (or answers) it rests on."""

    value: float | None
    se: float | None
    n: int


def mean(total: float, squares: float, n: int) -> Estimate:
    """The mean of ``n`` values from their sum and sum of squares (sample variance)."""
    if not n:
        return Estimate(None, None, 0)
    m = total / n
    variance = max(0.0, squares / n - m * m) * n / (n - 1) if n > 1 else 0.0
    return Estimate(m, math.sqrt(variance / n) if n > 1 else None, n)


def share(hits: float, n: float) -> Estimate:
    """A proportion ``hits / n`` (binomial standard error)."""
    if not n:
        return Estimate(None, None, 0)
    p = hits / n
    return Estimate(p, math.sqrt(p * (1 - p) / n), int(n))


def ratio(n: int, x: float, y: float, x_sq: float, y_sq: float, xy: float) -> Estimate:
    """A ratio of two per-person sums, ``x / y`` over ``n`` people (events per session), its
    error by the delta method from the sums of squares and of products."""
    if not n or not y:
        return Estimate(None, None, n)
    r = x / y
    if n < 2:
        return Estimate(r, None, n)
    mx, my = x / n, y / n
    vx = (x_sq - n * mx * mx) / (n - 1)
    vy = (y_sq - n * my * my) / (n - 1)
    cxy = (xy - n * mx * my) / (n - 1)
    var = max(0.0, (vx - 2 * r * cxy + r * r * vy) / (my * my * n))
    return Estimate(r, math.sqrt(var), n)


@dataclass(frozen=True)
class Difference:
    """``b - a`` with its 95% interval and two-sided p-value (None where untestable)."""

    value: float
    low: float
    high: float
    p_value: float


def difference(a: Estimate, b: Estimate) -> Difference | None:
    """``b - a`` of two independent estimates; None without values or spread."""
    if a.value is None or b.value is None or a.se is None or b.se is None:
        return None
    diff = b.value - a.value
    se = math.sqrt(a.se**2 + b.se**2)
    p = 1.0 if se == 0 else math.erfc(abs(diff / se) / math.sqrt(2))
    return Difference(diff, diff - Z95 * se, diff + Z95 * se, p)


def _pooled_z(hits_a: float, n_a: float, hits_b: float, n_b: float) -> float | None:
    """z of ``hits_a / n_a - hits_b / n_b`` with the pooled standard error; None if it is 0."""
    pooled = (hits_a + hits_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return None if se == 0 else (hits_a / n_a - hits_b / n_b) / se


def two_proportion(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float | None:
    """Two-sided p-value that two proportions differ (pooled z-test); None without data."""
    if not n_a or not n_b:
        return None
    z = _pooled_z(hits_a, n_a, hits_b, n_b)
    return 1.0 if z is None else math.erfc(abs(z) / math.sqrt(2))


def lower_than(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """One-sided p-value that proportion a is lower than proportion b (pooled z-test)."""
    z = _pooled_z(hits_a, n_a, hits_b, n_b)
    if z is None:
        return 1.0 if hits_a / n_a >= hits_b / n_b else 0.0
    return 0.5 * math.erfc(-z / math.sqrt(2))


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h: the effect size of two proportions (0.2 small, 0.5 medium, 0.8 large)."""
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def cohens_d(m1: float, v1: float, n1: int, m2: float, v2: float, n2: int) -> float | None:
    """Cohen's d: the difference of two means in pooled standard deviations (from each
    group's mean, population variance and size); None when it cannot be told."""
    if n1 < 2 or n2 < 2:
        return None
    pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)
    return (m1 - m2) / math.sqrt(pooled) if pooled > 0 else None


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """The p-values adjusted for the false discovery rate, in the order given: the i-th
    smallest of m becomes min over j >= i of p_(j) * m / j, at most 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = running
    return adjusted

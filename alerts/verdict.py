"""The verdict of one evaluation for one scope: conversion now against the rule's condition.

Pure arithmetic, no storage: ``judge`` takes people entered and converted in the current window
(and, for a baseline condition, summed over the baseline windows) and says ``breach``, ``ok``
or ``insufficient`` (too few people to say anything, so small samples never page anyone).

The significance test is the one-sided two-proportion z-test with a pooled proportion:
H0 the current conversion equals the baseline's, H1 it is lower.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.rules import Condition
from analyzer import statistics

OUTCOMES = ("ok", "breach", "insufficient")


@dataclass(frozen=True)
class Counts:
    entered: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.entered if self.entered else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.entered + other.entered, self.converted + other.converted)


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ok, breach, insufficient
    current: Counts
    baseline: Counts | None
    p_value: float | None
    reason: str

    @property
    def drop_percent(self) -> float | None:
        if self.baseline is None or self.baseline.rate == 0:
            return None
        return 100 * (self.baseline.rate - self.current.rate) / self.baseline.rate


def lower_p_value(current: Counts, baseline: Counts) -> float:
    """One-sided p-value that the current rate is lower than the baseline's."""
    return statistics.lower_than(
        current.converted, current.entered, baseline.converted, baseline.entered
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def judge(
    condition: Condition, min_people: int, current: Counts, baseline: Counts | None
) -> Verdict:
    now = f"{_pct(current.rate)} of {current.entered}"
    if current.entered < min_people:
        return Verdict(
            "insufficient",
            current,
            baseline,
            None,
            f"{current.entered} entered, under {min_people}",
        )
    if condition.kind == "below":
        breach = current.rate < condition.value
        word = "under" if breach else "at or over"
        reason = f"{now} converted, {word} {_pct(condition.value)}"
        return Verdict("breach" if breach else "ok", current, None, None, reason)
    assert baseline is not None
    if baseline.entered < min_people:
        return Verdict(
            "insufficient",
            current,
            baseline,
            None,
            f"{baseline.entered} entered in the baseline, under {min_people}",
        )
    if baseline.rate == 0:
        return Verdict("insufficient", current, baseline, None, "nobody converted in the baseline")
    drop = 100 * (baseline.rate - current.rate) / baseline.rate
    versus = f"{now} converted against {_pct(baseline.rate)} of {baseline.entered} ({-drop:+.0f}%)"
    if condition.kind == "drop_percent":
        breach = drop >= condition.value
        return Verdict("breach" if breach else "ok", current, baseline, None, versus)
    p = lower_p_value(current, baseline)
    breach = p < condition.value and drop > 0 and drop >= condition.min_drop_percent
    reason = f"{versus}, p = {p:.2g}" + ("" if breach else " (not a significant drop)")
    return Verdict("breach" if breach else "ok", current, baseline, p, reason)

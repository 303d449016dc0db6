"""Verdicts on an experiment's guardrails: for each guardrail metric, targeted segment (and
everyone) and treatment variant, whether the variant is significantly worse than the control.

Worse is the metric's ``worse`` direction (lower, by default; ``higher`` for refunds or
errors). The test is the analysis's own (analyzer.experiments.analysis: the two-proportion
z-test, or Welch's for revenue), made one-sided in that direction: p is half the two-sided
p-value when the variant moved the harmful way, else one less half of it. A variant or a
control with fewer than ``min_people`` exposed gives no verdict.

The scope of each verdict is ``METRIC/SEGMENT/VARIANT``; its counts are the variant's people
and conversions (for revenue, its revenue rounded: the rate is revenue per person), the
baseline's the control's.
"""

from __future__ import annotations

import functools
from datetime import datetime

from alerts.rules import Rule
from alerts.verdict import Counts, Verdict
from analyzer import touchpoints
from analyzer.errors import SpecError
from analyzer.experiments import catalog
from analyzer.experiments.analysis import MetricResult, VariantFigures, analyze
from storage.store import Store


def verdicts(store: Store, rule: Rule, at: datetime) -> list[tuple[str, Verdict]]:
    """(scope, verdict) of every guardrail, segment and treatment of ``rule``'s experiment."""
    assert rule.experiment is not None
    found = catalog.stored(store).get(rule.experiment)
    if found is None:
        raise SpecError("experiment", f"no experiment {rule.experiment!r} is defined")
    resolve = functools.partial(touchpoints.resolve, store)
    result = analyze(store, found.experiment, at, resolve)
    out = []
    for metric in result.metrics:
        if not metric.guardrail:
            continue
        for group in metric.groups:
            control = next(f for f in group.variants if f.variant == result.control)
            for figures in group.variants:
                if figures.variant == result.control:
                    continue
                scope = f"{metric.name}/{group.segment}/{figures.variant}"
                out.append((scope, _judge(rule, metric, figures, control)))
    return out


def _value(metric: MetricResult, f: VariantFigures) -> str:
    if f.value is None:
        return "none"
    return f"{100 * f.value:.1f}%" if metric.kind == "conversion" else f"{f.value:.2f} a person"


def _judge(rule: Rule, metric: MetricResult, f: VariantFigures, control: VariantFigures) -> Verdict:
    current, baseline = (
        Counts(f.people, round(f.total)),
        Counts(control.people, round(control.total)),
    )
    fewest = min(f.people, control.people)
    if fewest < rule.min_people or f.lift is None:
        reason = f"{fewest} exposed in {f.variant} or the control, under {rule.min_people}"
        return Verdict("insufficient", current, baseline, None, reason)
    moved = float(f.lift["absolute"])
    two_sided = float(f.lift["p_value"])
    harmful = moved > 0 if metric.worse == "higher" else moved < 0
    p = two_sided / 2 if harmful else 1 - two_sided / 2
    breach = p < rule.condition.value
    reason = (
        f"{metric.name} {_value(metric, f)} of {f.people} in {f.variant} against "
        f"{_value(metric, control)} of {control.people} in the control, p = {p:.2g}"
        + ("" if breach else f" (not significantly {metric.worse})")
    )
    return Verdict("breach" if breach else "ok", current, baseline, p, reason)

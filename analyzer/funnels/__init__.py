"""Funnels: people moving through steps within a conversion window.

``spec.py`` says what a funnel is (validated); ``people.py`` builds the per-person SQL (how far
each person got, when); ``report.py`` aggregates it into stage conversion, time to convert,
breakdowns, a trend and the list of people who dropped.
"""

from analyzer.funnels.report import FunnelReport, StepResult, analyze, dropped, run, trend
from analyzer.funnels.spec import Breakdown, Exclusion, Filter, FunnelSpec, SpecError, Step

__all__ = [
    "Breakdown",
    "Exclusion",
    "Filter",
    "FunnelReport",
    "FunnelSpec",
    "SpecError",
    "Step",
    "StepResult",
    "analyze",
    "dropped",
    "run",
    "trend",
]

"""Funnels: people moving through steps within a conversion window.

``spec.py`` says what a funnel is (validated); ``people.py`` builds the per-person SQL (how far
each person got, when); ``report.py`` aggregates it into stage conversion, time to convert,
breakdowns, a trend and the list of people who dropped. What funnels share with every
analysis (steps, filters, breakdowns, segments) is analyzer.vocabulary's.
"""

from analyzer.funnels.report import FunnelReport, StepResult, analyze, dropped, run, trend
from analyzer.funnels.spec import Exclusion, FunnelSpec

__all__ = [
    "Exclusion",
    "FunnelReport",
    "FunnelSpec",
    "StepResult",
    "analyze",
    "dropped",
    "run",
    "trend",
]

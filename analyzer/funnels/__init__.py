"""Funnels: people moving through ordered steps within a conversion window.

``spec.py`` says what a funnel is (validated); ``ordered.py`` computes the ordered funnel (other
events may come between steps) with stage conversion and time to convert.
"""

from analyzer.funnels.ordered import run
from analyzer.funnels.spec import Filter, FunnelSpec, Step

__all__ = ["Filter", "FunnelSpec", "Step", "run"]

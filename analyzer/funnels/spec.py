"""What a funnel is, validated before any SQL is built; values are bound, never pasted. The
vocabulary it shares with every analysis (steps, filters, breakdowns, segments, the period) is
analyzer.vocabulary's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from analyzer.errors import SpecError
from analyzer.membership import named_segments
from analyzer.parameters import (
    ATTRIBUTION,
    BOTS,
    BREAKDOWN,
    IN_SEGMENT,
    SESSION_TIMEOUT,
    SINCE,
    STEP,
    UNTIL,
    Param,
    asked,
    declared,
)
from analyzer.sessions import DEFAULT_TIMEOUT_MINUTES, check_timeout
from analyzer.vocabulary import Breakdown, Step, check_field, check_range, check_segment

MODES = ("ordered", "strict", "any")
MAX_WINDOW = timedelta(days=90)
MAX_STEPS = 10
MAX_EXCLUSIONS = 5


@dataclass(frozen=True)
class Exclusion:
    """People who do ``step`` after funnel step ``after`` and before step ``before`` (1-based;
    before the window ends if they never reach it) are not counted in that attempt."""

    step: Step
    after: int = 1
    before: int | None = None  # None: the last step


STEPS = Param(
    "step", f"the funnel's steps in order, 2 to 10: {STEP}", "step", many=True, required=True
)
WINDOW = Param("window", "the funnel's conversion window: 30m, 12h, 7d", "duration", "7d")
MODE = Param("mode", "the funnel's order", "choice", "ordered", choices=MODES)
EXCLUDE = Param(
    "exclude",
    "an exclusion step: STEP or STEP@A-B (between steps A and B)",
    "exclusion",
    many=True,
)


@dataclass(frozen=True)
class Gap:
    """Step ``step`` (2 or later) counts only ``least`` to ``most`` after the step before it
    (a conversion window of its own, a least time between the two, or both)."""

    step: int
    least: timedelta = timedelta(0)
    most: timedelta | None = None  # None: the funnel's window alone

    @property
    def least_ms(self) -> int:
        return int(self.least.total_seconds() * 1000)

    @property
    def most_ms(self) -> int | None:
        return None if self.most is None else int(self.most.total_seconds() * 1000)


SESSION = "session"  # as ``hold``: every step in the start's session
HOLD = Param(
    "hold",
    "hold a value constant across the steps: a column or properties.KEY (the same cart, "
    "order or document in every step), or `session` (every step in the first step's session)",
)
GAP = Param(
    "gap",
    "the time allowed between a step and the one before it, N=LEAST-MOST: 2=-1h (step 2 within "
    "an hour of step 1), 3=5m- (at least 5 minutes after step 2), 2=1m-2d; ordered and strict "
    "funnels",
    many=True,
)
FUNNEL = (STEPS, WINDOW, MODE, EXCLUDE)  # what makes the funnel, besides its period


@dataclass(frozen=True)
class FunnelSpec:
    steps: tuple[Step, ...] = asked(STEPS)
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    window: timedelta = asked(WINDOW, default=timedelta(days=7))
    mode: str = asked(MODE, default="ordered")
    exclusions: tuple[Exclusion, ...] = asked(EXCLUDE, default=())
    breakdown: Breakdown | None = asked(BREAKDOWN, ATTRIBUTION, default=None)
    breakdown_limit: int = 25
    # only the members of this segment (or name/group)
    segment: str | None = asked(IN_SEGMENT, default=None)
    # bots' events count too (collector.agent flags them)
    include_bots: bool = asked(BOTS, default=False)
    # every step of an attempt has the start's value of this field (an entity funnel: the
    # same cart, order or document), or is in the start's session (``session``)
    hold: str | None = asked(HOLD, default=None)
    session_timeout: int = asked(SESSION_TIMEOUT, default=DEFAULT_TIMEOUT_MINUTES)
    # per step: the time allowed since the step before it
    gaps: tuple[Gap, ...] = asked(GAP, default=())

    def named_segments(self) -> dict[str, str | None]:
        """The segments it reads, by the field naming each (analyzer.membership.check_refreshed)."""
        return named_segments(self.segment, self.breakdown)

    def _check_gaps(self, n: int) -> None:
        if self.gaps and self.mode == "any":
            raise SpecError("gaps", "an any-order funnel has no step before another")
        seen = set()
        for i, gap in enumerate(self.gaps):
            if not isinstance(gap.step, int) or not 2 <= gap.step <= n:
                raise SpecError(f"gaps[{i}].step", f"a step from 2 to {n}")
            if gap.step in seen:
                raise SpecError(f"gaps[{i}].step", f"step {gap.step} has a gap already")
            seen.add(gap.step)
            if gap.least < timedelta(0):
                raise SpecError(f"gaps[{i}].least", "at least 0")
            if gap.most is not None and not gap.least < gap.most:
                raise SpecError(f"gaps[{i}].most", "more than the least")
            if gap.least >= self.window:
                raise SpecError(f"gaps[{i}].least", "less than the funnel's window")

    def gap(self, step: int) -> Gap | None:
        """The gap of step ``step`` (1-based), if it has one."""
        return next((g for g in self.gaps if g.step == step), None)

    @property
    def window_ms(self) -> int:
        return int(self.window.total_seconds() * 1000)

    def validate(self) -> FunnelSpec:
        if not 2 <= len(self.steps) <= MAX_STEPS:
            raise SpecError("steps", f"a funnel has 2 to {MAX_STEPS} steps, got {len(self.steps)}")
        for i, step in enumerate(self.steps):
            step.validate(f"steps[{i}]")
        if self.mode not in MODES:
            raise SpecError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        if len(self.exclusions) > MAX_EXCLUSIONS:
            raise SpecError("exclusions", f"at most {MAX_EXCLUSIONS}")
        n = len(self.steps)
        for i, ex in enumerate(self.exclusions):
            ex.step.validate(f"exclusions[{i}].step")
            before = n if ex.before is None else ex.before
            if not (isinstance(ex.after, int) and isinstance(before, int)):
                raise SpecError(f"exclusions[{i}]", "after and before are step numbers")
            if not 1 <= ex.after < before <= n:
                raise SpecError(
                    f"exclusions[{i}]",
                    f"between steps after < before, within 1..{n}; got {ex.after}..{before}",
                )
            if self.mode == "any" and (ex.after, before) != (1, n):
                raise SpecError(
                    f"exclusions[{i}]", "an any-order funnel excludes over the whole funnel only"
                )
        if self.breakdown is not None:
            self.breakdown.validate(n)
        if self.segment is not None:
            check_segment(self.segment, "segment")
        if not 1 <= self.breakdown_limit <= 100:
            raise SpecError("breakdown_limit", "from 1 to 100 values")
        if not timedelta(seconds=1) <= self.window <= MAX_WINDOW:
            raise SpecError("window", "from 1 second to 90 days")
        check_range(self.date_from, self.date_to)
        self._check_gaps(n)
        if self.hold is not None and self.hold != SESSION:
            check_field(self.hold, "hold")
        check_timeout(self.session_timeout)
        return self


# What a funnel held by another analysis is asked for, when the analysis sets its breakdown.
WITHOUT_BREAKDOWN = tuple(p for p in declared(FunnelSpec) if p not in (BREAKDOWN, ATTRIBUTION))

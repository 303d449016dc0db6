"""Journey maps: a named, ordered list of stages (awareness, consideration, purchase,
retention, advocacy), each usually a touchpoint set (analyzer.touchpoints), reported per
segment or breakdown value and against the previous period of the same length.

Reaching a stage means reaching it after the stages before it, in order, within ``window`` of
entering the first (a funnel in ``ordered`` mode over the stages: analyzer.funnels, so people
are identity-stitched and every event counts once there too). Per group and stage: people,
conversion from the previous stage and from the first, median and p90 time from the previous
stage; the same in the previous period; the change in stage conversion with a two-sided
two-proportion z-test, judged only with ``min_sample`` people entering the stage in both
periods (the rule pain points use); and the stage where people stall: the one with the
lowest conversion from the stage before it, among those entered by ``min_sample`` people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from analyzer.errors import SpecError
from analyzer.funnels import FunnelSpec
from analyzer.funnels.report import OTHER, StepResult, analyze_periods
from analyzer.parameters import (
    ATTRIBUTION,
    BOTS,
    BREAKDOWN,
    IN_SEGMENT,
    MIN_SAMPLE,
    SINCE,
    STEP,
    UNTIL,
    Param,
    asked,
)
from analyzer.statistics import two_proportion
from analyzer.vocabulary import Breakdown, Step
from storage.store import Store

SIGNIFICANCE = 0.05
EVERYONE = "(everyone)"


@dataclass(frozen=True)
class JourneyMapSpec:
    stages: tuple[Step, ...] = asked(  # in order; each an event or a touchpoint set
        Param(
            "stage",
            f"the journey's stages in order, 2 to 10, each usually a touchpoint set: {STEP}",
            "step",
            many=True,
            required=True,
        )
    )
    date_from: datetime = asked(SINCE)
    date_to: datetime = asked(UNTIL)
    window: timedelta = asked(
        Param(
            "window",
            "time from entering the first stage to reach each later one",
            "duration",
            "30d",
        ),
        default=timedelta(days=30),
    )
    breakdown: Breakdown | None = asked(BREAKDOWN, ATTRIBUTION, default=None)
    breakdown_limit: int = 20  # groups shown; the previous period's are matched among 100
    # only the members of this segment (or name/group)
    segment: str | None = asked(IN_SEGMENT, default=None)
    min_sample: int = asked(MIN_SAMPLE, default=30)
    include_bots: bool = asked(BOTS, default=False)

    def funnel(self, date_from: datetime, date_to: datetime) -> FunnelSpec:
        return FunnelSpec(
            steps=self.stages,
            date_from=date_from,
            date_to=date_to,
            window=self.window,
            mode="ordered",
            breakdown=self.breakdown,
            breakdown_limit=self.breakdown_limit,
            segment=self.segment,
            include_bots=self.include_bots,
        )

    def previous(self) -> tuple[datetime, datetime]:
        """The period of the same length just before this one."""
        return self.date_from - (self.date_to - self.date_from), self.date_from

    def validate(self) -> JourneyMapSpec:
        if not 2 <= len(self.stages) <= 10:
            raise SpecError("stages", "2 to 10 stages in order")
        if not isinstance(self.min_sample, int) or not 1 <= self.min_sample <= 1_000_000:
            raise SpecError("min_sample", "from 1 to 1,000,000 people")
        try:
            self.funnel(self.date_from, self.date_to).validate()
        except SpecError as exc:  # the funnel's own words, named as this report's
            raise SpecError(exc.field.replace("steps", "stages", 1), exc.message) from None
        return self


@dataclass(frozen=True)
class Stage:
    stage: int  # from 1
    name: str
    people: int
    conversion_from_previous: float  # 1.0 for the first stage
    conversion_from_start: float
    median_seconds_from_previous: float | None
    p90_seconds_from_previous: float | None
    previous_people: int  # the same, in the previous period
    # None when nobody entered the stage before it in the previous period: nothing to compare
    previous_conversion_from_previous: float | None
    change: float | None  # conversion from the previous stage, now minus then
    p_value: float | None  # None below min_sample in either period, or for the first stage
    significant: bool


@dataclass(frozen=True)
class GroupMap:
    value: str  # EVERYONE, or a breakdown value / segment
    stages: list[Stage]
    stalls_at: int | None  # the stage with the lowest conversion from the one before it


@dataclass
class JourneyMap:
    stages: list[str]
    date_from: datetime
    date_to: datetime
    previous_from: datetime
    previous_to: datetime
    groups: list[GroupMap] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _group(
    value: str, now: list[StepResult], then: list[StepResult] | None, min_sample: int
) -> GroupMap:
    stages = []
    for k, s in enumerate(now):
        before = then[k] if then else None
        entered = now[k - 1].people if k else s.people
        entered_then = (then[k - 1].people if k else then[k].people) if then else 0
        p_value = None
        if k and before is not None and min(entered, entered_then) >= min_sample:
            p_value = two_proportion(s.people, entered, before.people, entered_then)
        compared = before is not None and entered_then > 0
        then_conversion = before.conversion_from_previous if compared and before else None
        stages.append(
            Stage(
                stage=k + 1,
                name=s.event,
                people=s.people,
                conversion_from_previous=s.conversion_from_previous,
                conversion_from_start=s.conversion_from_start,
                median_seconds_from_previous=s.median_seconds_from_previous,
                p90_seconds_from_previous=s.p90_seconds_from_previous,
                previous_people=before.people if before else 0,
                previous_conversion_from_previous=then_conversion,
                change=(
                    None
                    if then_conversion is None
                    else s.conversion_from_previous - then_conversion
                ),
                p_value=p_value,
                significant=p_value is not None and p_value < SIGNIFICANCE,
            )
        )
    judged = [s for k, s in enumerate(stages) if k and now[k - 1].people >= min_sample]
    stall = min(judged, key=lambda s: (s.conversion_from_previous, s.stage), default=None)
    return GroupMap(value, stages, stall.stage if stall else None)


def journey_map(store: Store, spec: JourneyMapSpec) -> JourneyMap:
    """The map of ``spec`` (its stages resolved to touchpoints already): everyone first, then
    each breakdown value, each against the previous period."""
    spec.validate()
    before_from, before_to = spec.previous()
    # both periods in one read; the previous period's groups are looked up by value, so the
    # breakdown keeps up to 100 of them (the first ones shown now are the same, most first)
    wide = replace(spec.funnel(spec.date_from, spec.date_to), breakdown_limit=100)
    now, then = analyze_periods(store, wide, before_from)
    now.breakdown = now.breakdown[: spec.breakdown_limit]
    out = JourneyMap(
        [s.event for s in spec.stages], spec.date_from, spec.date_to, before_from, before_to
    )
    out.groups.append(_group(EVERYONE, now.steps, then.steps, spec.min_sample))
    # the period before is read with more values, so its (other) holds other ones
    earlier = {g.value: g.steps for g in then.breakdown if g.value != OTHER}
    for g in now.breakdown:
        out.groups.append(_group(g.value, g.steps, earlier.get(g.value), spec.min_sample))
    return out

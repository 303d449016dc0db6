"""What every analysis names, checked where it is given: the event columns and properties a
filter or breakdown reads, filters, steps (an event, or a touchpoint set), breakdowns,
property paths, segments and the period. Each check raises a SpecError naming the field;
values are bound into SQL by analyzer.query, never pasted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from analyzer.errors import SpecError
from analyzer.regex import problem
from storage.paths import is_path

# Event columns a step may filter on; anything else is a property: "properties.<key>".
COLUMNS = (
    "event",
    "type",
    "page_path",
    "page_url",
    "page_title",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device_type",
    "browser",
    "os",
    "locale",
    "geo_country",
    "source",
)
OPS = ("eq", "neq", "in", "match")
ATTRIBUTIONS = ("first_touch", "last_touch", "step")


def check_field(name: str, where: str, person: bool = False) -> None:
    """An event column, ``properties.<key>``, or (where a person's value makes sense)
    ``person.<trait>``: the latest value of an identify trait."""
    if name in COLUMNS:
        return
    for prefix in ("properties.", *(("person.",) if person else ())):
        if name.startswith(prefix) and is_path(name[len(prefix) :]):
            return
    kinds = "properties.<path>" + (" or person.<path>" if person else "")
    raise SpecError(where, f"{name!r} is not a column ({', '.join(COLUMNS)}) or {kinds}")


@dataclass(frozen=True)
class Filter:
    field: str  # a column of COLUMNS, or "properties.<key>"
    op: str
    value: Any

    def validate(self, where: str) -> None:
        check_field(self.field, f"{where}.field")
        if self.op not in OPS:
            raise SpecError(f"{where}.op", f"{self.op!r} is not one of {', '.join(OPS)}")
        if self.op == "in":
            if (
                not isinstance(self.value, (list, tuple))
                or not self.value
                or not all(isinstance(v, str) for v in self.value)
            ):
                raise SpecError(f"{where}.value", "'in' takes a non-empty list of strings")
        elif not isinstance(self.value, str):
            raise SpecError(f"{where}.value", "must be a string")
        if self.op == "match" and isinstance(self.value, str) and problem(self.value):
            raise SpecError(f"{where}.value", problem(self.value))


# A step naming a touchpoint set (analyzer.touchpoints) instead of one event: ``set:NAME``.
SET_PREFIX = "set:"
MAX_TOUCHPOINTS = 20


@dataclass(frozen=True)
class Step:
    """An event (with filters), or any of several touchpoints: ``any_of`` is filled in from a
    touchpoint set when ``event`` is ``set:NAME`` (analyzer.touchpoints.resolve), and ``event``
    becomes the set's name. A touchpoint may leave ``event`` empty when its filters say what it
    is (a page view of ``/pricing``). An event counts once for a step, whichever touchpoints it
    matches: the step is one condition, the touchpoints OR-ed."""

    event: str
    filters: tuple[Filter, ...] = ()
    any_of: tuple[Step, ...] = ()

    @property
    def set_name(self) -> str | None:
        """The touchpoint set this step names and has not been resolved to yet."""
        if self.any_of or not self.event.startswith(SET_PREFIX):
            return None
        return self.event[len(SET_PREFIX) :]

    def validate(self, where: str, touchpoint: bool = False) -> None:
        if not isinstance(self.event, str) or len(self.event) > 200:
            raise SpecError(f"{where}.event", "an event name of 1 to 200 characters")
        if not self.event and not (touchpoint and self.filters):
            raise SpecError(f"{where}.event", "an event name of 1 to 200 characters")
        if self.set_name is not None and not SET_NAME.match(self.set_name):
            raise SpecError(f"{where}.event", f"{self.set_name!r} is not a touchpoint set name")
        for j, f in enumerate(self.filters):
            f.validate(f"{where}.filters[{j}]")
        if touchpoint and self.any_of:
            raise SpecError(where, "a touchpoint is one event, not a set")
        if len(self.any_of) > MAX_TOUCHPOINTS:
            raise SpecError(f"{where}.any_of", f"at most {MAX_TOUCHPOINTS} touchpoints")
        for j, t in enumerate(self.any_of):
            t.validate(f"{where}.any_of[{j}]", touchpoint=True)


SET_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")


_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}(/[^/]{1,100})?\Z")


def check_property(value: object, where: str) -> str:
    """An event property or trait path (storage.paths): ``revenue``, ``products[0].price``."""
    if not isinstance(value, str) or not is_path(value):
        raise SpecError(where, "a property path such as revenue or products[0].price")
    return value


def check_segments(names: tuple[str, ...], where: str = "segments") -> None:
    """Up to 50 segments (``name`` or ``name/group``)."""
    if len(names) > 50:
        raise SpecError(where, "at most 50")
    for i, name in enumerate(names):
        check_segment(name, f"{where}[{i}]")


def check_segment(name: object, where: str) -> str:
    """A segment (``name``) or one group of it (``name/group``: an RFM group, a cluster)."""
    if not isinstance(name, str) or not _SEGMENT.match(name):
        raise SpecError(where, f"{name!r} is not a segment name (or name/group)")
    return name


@dataclass(frozen=True)
class Breakdown:
    """Split people by a value: an event column or property, taken from one event of their
    attempt (first touch = step 1, last touch = the last step reached, or a given step), or a
    person property (``person.<trait>``, the latest identify value), or ``segment``: the
    segments of ``segments`` (names, or name/group) people belong to at their latest refresh,
    a person counting in each (a family such as an RFM segment splits into its groups)."""

    field: str
    attribution: str = "first_touch"
    step: int | None = None  # 1-based, with attribution "step"
    segments: tuple[str, ...] = ()
    # up to two more event fields, read from the same event: one value per combination
    more: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field, *self.more)

    def validate(self, steps: int) -> None:
        if self.more:
            if len(self.more) > MAX_BREAKDOWN_FIELDS - 1:
                raise SpecError("breakdown.more", f"at most {MAX_BREAKDOWN_FIELDS} fields at once")
            for i, name in enumerate(self.fields):
                check_field(name, "breakdown.field" if i == 0 else f"breakdown.more[{i - 1}]")
        if self.field == "segment":
            if not 1 <= len(self.segments) <= 50:
                raise SpecError("breakdown.segments", "1 to 50 segments to break down by")
            for i, name in enumerate(self.segments):
                check_segment(name, f"breakdown.segments[{i}]")
            return
        if self.segments:
            raise SpecError("breakdown.segments", "only with breakdown.field 'segment'")
        check_field(self.field, "breakdown.field", person=True)
        if self.attribution not in ATTRIBUTIONS:
            raise SpecError(
                "breakdown.attribution",
                f"{self.attribution!r} is not one of {', '.join(ATTRIBUTIONS)}",
            )
        if self.attribution == "step" and (
            not isinstance(self.step, int) or not 1 <= self.step <= steps
        ):
            raise SpecError("breakdown.step", f"a step number from 1 to {steps}")


MAX_BREAKDOWN_FIELDS = 3
# A value of several breakdown fields travels as their texts joined by the unit separator
# (a control character no name or campaign carries), and is shown joined by " / ".
FIELD_SEPARATOR = "\x1f"


def shown_value(value: str) -> str:
    """A breakdown value as shown: the fields of a combination joined by " / ", an empty one
    as ``(none)``."""
    if FIELD_SEPARATOR not in value:
        return value
    return " / ".join(part or "(none)" for part in value.split(FIELD_SEPARATOR))


# The longest range any analysis reads: ordered funnels pack an event's time (ms since the
# range's start, window and a previous period included) above its position in one UInt64:
# twice twenty years leave 23 bits (8.4 million events a person). The service's own bound,
# JOURNEY_LONGEST_RANGE_DAYS (731 days by default), is at most this.
LONGEST_RANGE_DAYS = 7305


def check_range(
    date_from: datetime, date_to: datetime, longest_days: int = LONGEST_RANGE_DAYS
) -> None:
    if date_from.tzinfo is None or date_to.tzinfo is None:
        raise SpecError("date_from/date_to", "must carry a time zone")
    if not date_from < date_to:
        raise SpecError("date_from", "must be before date_to")
    if date_to - date_from > timedelta(days=longest_days):
        raise SpecError("date_to", f"a range spans at most {longest_days} days")

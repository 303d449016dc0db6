"""What a funnel is, validated before any SQL is built; values are bound, never pasted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
    "source",
)
OPS = ("eq", "neq", "in", "match")
_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
MAX_WINDOW = timedelta(days=90)


class SpecError(ValueError):
    """The funnel cannot be computed as asked; the message names the field."""


@dataclass(frozen=True)
class Filter:
    field: str  # a column of COLUMNS, or "properties.<key>"
    op: str
    value: Any

    def validate(self, where: str) -> None:
        if self.field not in COLUMNS and not (
            self.field.startswith("properties.") and _KEY.match(self.field[11:])
        ):
            raise SpecError(
                f"{where}.field: {self.field!r} is not a column ({', '.join(COLUMNS)}) "
                "or properties.<key>"
            )
        if self.op not in OPS:
            raise SpecError(f"{where}.op: {self.op!r} is not one of {', '.join(OPS)}")
        if self.op == "in":
            if (
                not isinstance(self.value, (list, tuple))
                or not self.value
                or not all(isinstance(v, str) for v in self.value)
            ):
                raise SpecError(f"{where}.value: 'in' takes a non-empty list of strings")
        elif not isinstance(self.value, str):
            raise SpecError(f"{where}.value: must be a string")
        if self.op == "match" and isinstance(self.value, str):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise SpecError(f"{where}.value: not a regular expression: {exc}") from None


@dataclass(frozen=True)
class Step:
    event: str
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class FunnelSpec:
    steps: tuple[Step, ...]
    date_from: datetime
    date_to: datetime
    window: timedelta = timedelta(days=7)

    def validate(self) -> FunnelSpec:
        if not 2 <= len(self.steps) <= 10:
            raise SpecError(f"steps: a funnel has 2 to 10 steps, got {len(self.steps)}")
        for i, step in enumerate(self.steps):
            if not isinstance(step.event, str) or not 0 < len(step.event) <= 200:
                raise SpecError(f"steps[{i}].event: an event name of 1 to 200 characters")
            for j, f in enumerate(step.filters):
                f.validate(f"steps[{i}].filters[{j}]")
        if not timedelta(seconds=1) <= self.window <= MAX_WINDOW:
            raise SpecError("window: from 1 second to 90 days")
        if self.date_from.tzinfo is None or self.date_to.tzinfo is None:
            raise SpecError("date_from/date_to: must carry a time zone")
        if not self.date_from < self.date_to:
            raise SpecError("date_from: must be before date_to")
        if self.date_to - self.date_from > timedelta(days=731):
            raise SpecError("date_to: a funnel spans at most two years")
        return self

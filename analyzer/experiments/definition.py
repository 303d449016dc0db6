"""Experiment definitions: a versioned YAML or JSON document, checked before anything runs.

    version: 1
    experiments:
      - key: vip-offer                    # [a-z0-9_-], unique; it salts the assignment's hash
        description: a tailored offer for VIPs
        segments: [vip]                   # who takes part (public segments); omitted: everyone
        variants:                         # 2 to 10; the first is the control unless one says so
          - {name: holdout, weight: 10}
          - name: offer
            weight: 90
            content: {banner: "20% off your next order"}   # what the website is given to show
        metric:                           # the primary metric; one of:
          name: orders
          converts: [Product Added, Order Completed]   #   conversion: these steps in order
          within: 7d                                    #   after the first exposure
          # revenue: {event: Order Completed, property: revenue}   # revenue per person
        guardrails:                       # metrics that must not get worse (alerts watch them)
          - {name: refunds, converts: [Order Refunded], within: 14d, worse: higher}
        minimum_effect: 0.02              # the smallest change worth finding (absolute), for
                                          # the people each variant needs
        start: 2026-12-01T00:00:00Z
        end: 2027-01-01T00:00:00Z         # omitted: until stopped

People take part from their first exposure (an ``Experiment Viewed`` event naming the
experiment and variant); bots are left out. Errors name the place:
``experiments[0].variants[1].weight: a whole number from 1 to 10000``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analyzer.documents import (
    DocumentError,
    choice,
    duration,
    entries,
    event_name,
    fail,
    keys,
    number,
    read,
    steps,
    text,
    whole,
)
from analyzer.errors import SpecError
from analyzer.vocabulary import Step, check_property, check_segment

FORMAT_VERSION = 1
KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")
VARIANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}\Z")
MAX_CONTENT_BYTES = 8 * 1024  # what one variant gives the website, as JSON
MAX_WITHIN = timedelta(days=90)
EXPOSURE_EVENT = "Experiment Viewed"  # properties: experiment (the key), variant


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """``converts``: reaching these steps in order within ``within`` of the first exposure;
    or ``revenue``: the sum of ``property`` over ``event`` within ``within``, per person.
    ``worse``: which direction hurts (a guardrail's alert fires on it)."""

    name: str
    within: timedelta
    converts: tuple[Step, ...] = ()
    revenue_event: str = ""
    revenue_property: str = ""
    worse: str = "lower"

    @property
    def kind(self) -> str:
        return "conversion" if self.converts else "revenue"


@dataclass(frozen=True)
class Experiment:
    key: str
    variants: tuple[Variant, ...]
    metric: Metric
    start: datetime
    control: str
    segments: tuple[str, ...] = ()
    guardrails: tuple[Metric, ...] = ()
    end: datetime | None = None
    minimum_effect: float | None = None
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict, compare=False)  # as written

    @property
    def name(self) -> str:  # documents name their entries (analyzer.documents.entries)
        return self.key

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def running(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def _moment(value: Any, where: str) -> datetime:
    """An ISO date or time (YAML reads an unquoted one as a datetime already); UTC if no zone."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str):
        try:
            found = datetime.fromisoformat(value)
        except ValueError:
            raise fail(where, f"{value!r} is not a time like 2026-12-01T00:00:00Z") from None
    else:
        raise fail(where, "a time like 2026-12-01T00:00:00Z")
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _content(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise fail(where, "an object: what the website is given for this variant")
    if len(json.dumps(raw, default=str).encode()) > MAX_CONTENT_BYTES:
        raise fail(where, f"at most {MAX_CONTENT_BYTES} bytes as JSON")
    return json.loads(json.dumps(raw, default=str))  # plain JSON values only


def _variants(raw: Any, where: str) -> tuple[tuple[Variant, ...], str]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= 10:
        raise fail(where, "a list of 2 to 10 variants {name, weight, content}")
    out: list[Variant] = []
    control = ""
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise fail(at, "a variant {name, weight, content}")
        keys(item, ("name", "weight", "content", "control"), at)
        name = item.get("name")
        if not isinstance(name, str) or not VARIANT.match(name):
            raise fail(f"{at}.name", "1 to 64 of A-Z, a-z, 0-9, _ and -")
        if any(v.name == name for v in out):
            raise fail(f"{at}.name", f"{name!r} is named twice")
        weight = whole(item.get("weight", 1), f"{at}.weight", 1, 10_000)
        if item.get("control", False) not in (True, False):
            raise fail(f"{at}.control", "true or false")
        if item.get("control"):
            if control:
                raise fail(f"{at}.control", f"{control!r} is the control already")
            control = name
        out.append(Variant(name, weight, _content(item.get("content"), f"{at}.content")))
    return tuple(out), control or out[0].name


def _metric(raw: Any, where: str) -> Metric:
    if not isinstance(raw, dict):
        raise fail(where, "{name, converts: [steps], within} or {name, revenue: {...}, within}")
    keys(raw, ("name", "converts", "revenue", "within", "worse"), where)
    name = raw.get("name")
    if not isinstance(name, str) or not VARIANT.match(name):
        raise fail(f"{where}.name", "1 to 64 of A-Z, a-z, 0-9, _ and -")
    within = duration(raw.get("within", "7d"), f"{where}.within")
    if within > MAX_WITHIN:
        raise fail(f"{where}.within", "at most 90d")
    worse = choice("lower", "higher")(raw.get("worse", "lower"), f"{where}.worse")
    if ("converts" in raw) == ("revenue" in raw):
        raise fail(where, "say converts (steps) or revenue ({event, property}), one of them")
    if "converts" in raw:
        converts = steps(raw["converts"], f"{where}.converts", 1, 10)
        return Metric(name, within, converts=converts, worse=worse)
    revenue = raw["revenue"]
    rat = f"{where}.revenue"
    if not isinstance(revenue, dict):
        raise fail(rat, "{event: Order Completed, property: revenue}")
    keys(revenue, ("event", "property"), rat)
    event = event_name(revenue.get("event"), f"{rat}.event")
    prop = text(revenue.get("property", "revenue"), f"{rat}.property", 200)
    try:
        check_property(prop, f"{rat}.property")
    except SpecError as exc:
        raise DocumentError(exc.field, exc.message) from None
    return Metric(name, within, revenue_event=event, revenue_property=prop, worse=worse)


EXPERIMENT_KEYS = (
    "key",
    "description",
    "segments",
    "variants",
    "metric",
    "guardrails",
    "minimum_effect",
    "start",
    "end",
)


def parse_experiment(raw: Any, where: str) -> Experiment:
    if not isinstance(raw, dict):
        raise fail(where, "an experiment (an object with a key)")
    keys(raw, EXPERIMENT_KEYS, where)
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise fail(f"{where}.key", "1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit")
    segments = raw.get("segments", [])
    if not isinstance(segments, list) or len(segments) > 20:
        raise fail(f"{where}.segments", "a list of up to 20 segment names (omitted: everyone)")
    for i, name in enumerate(segments):
        try:
            check_segment(name, f"{where}.segments[{i}]")
        except SpecError as exc:
            raise DocumentError(exc.field, exc.message) from None
    variants, control = _variants(raw.get("variants"), f"{where}.variants")
    if "metric" not in raw:
        raise fail(f"{where}.metric", "missing: what the experiment means to move")
    metric = _metric(raw["metric"], f"{where}.metric")
    guards = raw.get("guardrails", [])
    if not isinstance(guards, list) or len(guards) > 10:
        raise fail(f"{where}.guardrails", "a list of up to 10 metrics")
    guardrails = tuple(_metric(g, f"{where}.guardrails[{i}]") for i, g in enumerate(guards))
    names = [metric.name, *(g.name for g in guardrails)]
    for i, name in enumerate(names[1:]):
        if name in names[: i + 1]:
            raise fail(f"{where}.guardrails[{i}].name", f"{name!r} names another metric")
    if "start" not in raw:
        raise fail(f"{where}.start", "missing: when exposures start to count")
    start = _moment(raw["start"], f"{where}.start")
    end = _moment(raw["end"], f"{where}.end") if raw.get("end") is not None else None
    if end is not None and end <= start:
        raise fail(f"{where}.end", "must be after start")
    effect = raw.get("minimum_effect")
    if effect is not None:
        effect = number(effect, f"{where}.minimum_effect")
        if effect <= 0:
            raise fail(f"{where}.minimum_effect", "a positive change (a rate's, or per person)")
    return Experiment(
        key=key,
        variants=variants,
        control=control,
        metric=metric,
        guardrails=guardrails,
        segments=tuple(segments),
        start=start,
        end=end,
        minimum_effect=effect,
        description=text(raw.get("description", ""), f"{where}.description"),
        source=raw,
    )


def parse_document(doc: Any, where: str = "") -> list[Experiment]:
    """Every experiment of a document ``{version: 1, experiments: [...]}``."""
    return entries(doc, where, "experiments", FORMAT_VERSION, parse_experiment)


def load(path: Path) -> list[Experiment]:
    """The experiments of a ``.yaml``/``.yml`` or ``.json`` file."""
    return parse_document(read(path), str(path))


def dumps(experiment: Experiment) -> str:
    """The experiment as it was written, as canonical JSON (what versions compare)."""
    return json.dumps(experiment.source, sort_keys=True, separators=(",", ":"), default=str)

"""Alert rules: a versioned YAML or JSON document, validated before anything runs.

    version: 1
    alerts:
      - name: checkout-drop                 # [a-z0-9_-], unique
        description: orders from product views
        funnel:
          steps: [Product Viewed, Product Added, {event: Order Completed}]
          window: 1h                        # conversion window of the funnel
          mode: ordered                     # ordered, strict, any
          include_bots: false               # bots' events count (default: left out)
        scope: all                          # or {segment: NAME}, or each value separately:
                                            # {each: {segments: [a, b]}}, {each: {field: utm_source}}
        step: 3                             # conversion into step 3 from step 2; default: the
                                            # whole funnel (last step from the first)
        every: 15m                          # how often it is evaluated
        lookback: 1d                        # the rolling window of people entering
        condition:                          # one of:
          below: 0.2                        #   conversion under 20%
          # drop_percent: 25                #   25% or more below the baseline
          # significant: 0.01               #   lower than the baseline, one-sided p < 0.01
          # baseline: {same_weekday: 4}     #   (for both) the same window 1..4 weeks earlier,
                                            #   or {previous: 7}: the 7 windows just before
        min_people: 100                     # fewer entering (now, or in the baseline): no verdict
        cooldown: 6h                        # at least this long between two firing notices
        quiet_hours: {from: "22:00", to: "07:00", timezone: Europe/Berlin}
        channels:
          - webhook: https://hooks.example.com/journey
          - email: [growth@example.com]
          - log: true

An experiment's guardrails are watched by a rule naming the experiment instead of a funnel:

      - name: shipping-guardrails
        experiment: mobile-free-shipping    # its guardrail metrics, per variant and segment
        condition: {significant: 0.01}      # a variant worse than the control, one-sided p
        every: 1h
        min_people: 100                     # fewer in the variant or the control: no verdict
        channels: [{log: true}]

People "enter" when they do the funnel's first step (with ``step``: reach the step before it).
The cohort evaluated at a moment t is the people who entered in the ``lookback`` ending one
conversion window before t, so each has had the whole window to convert and a late evening
never reads as a drop.

Errors name the place: ``alerts[0].condition.below: a share between 0 and 1``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.webhook import TargetError, literal, refusal
from alerts.webhook import parse as parse_target
from analyzer.documents import (
    DocumentError,
    choice,
    duration,
    entries,
    fail,
    keys,
    number,
    read,
    share,
    text,
    whole,
)
from analyzer.documents import (
    steps as steps_of,
)
from analyzer.errors import SpecError
from analyzer.funnels.spec import MODES
from analyzer.vocabulary import Breakdown, Step, check_field

FORMAT_VERSION = 1
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}\Z")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\Z")
MAX_BASELINE = 12
RuleError = DocumentError


@dataclass(frozen=True)
class Condition:
    kind: str  # below, drop_percent, significant
    value: float  # the share, the percent, or alpha
    baseline: str = ""  # same_weekday or previous
    periods: int = 0
    min_drop_percent: float = 0.0  # significant: and at least this much lower

    def baseline_shifts(self, lookback: timedelta) -> list[timedelta]:
        """How far back each baseline window lies from the current one."""
        step = timedelta(days=7) if self.baseline == "same_weekday" else lookback
        return [step * i for i in range(1, self.periods + 1)]


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: str = "UTC"

    def contains(self, moment: Any) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight


@dataclass(frozen=True)
class Channel:
    kind: str  # webhook, email, log
    target: str = ""  # URL, or comma-separated addresses


@dataclass(frozen=True)
class Rule:
    name: str
    steps: tuple[Step, ...]
    window: timedelta
    mode: str
    scope: str  # all, segment, each
    condition: Condition
    channels: tuple[Channel, ...]
    segment: str | None = None
    breakdown: Breakdown | None = None
    step: int | None = None
    every: timedelta = timedelta(minutes=15)
    lookback: timedelta = timedelta(days=1)
    min_people: int = 100
    cooldown: timedelta = timedelta(hours=1)
    quiet_hours: QuietHours | None = None
    description: str = ""
    include_bots: bool = False  # bots' events count (collector.agent flags them)
    experiment: str | None = None  # a rule on this experiment's guardrails, not a funnel
    source: dict[str, Any] = field(default_factory=dict, compare=False)  # as written

    @property
    def what(self) -> str:
        """The conversion watched, in words."""
        if self.experiment is not None:
            return f"the guardrails of experiment {self.experiment}"
        if self.step is None:
            return f"{self.steps[-1].event} from {self.steps[0].event}"
        return f"{self.steps[self.step - 1].event} from {self.steps[self.step - 2].event}"


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise fail(where, "one of {below}, {drop_percent, baseline}, {significant, baseline}")
    keys(raw, ("below", "drop_percent", "significant", "baseline"), where)
    kinds = [k for k in ("below", "significant", "drop_percent") if k in raw]
    if not kinds:
        raise fail(where, "say below, drop_percent or significant")
    if "below" in raw and len(kinds) > 1:
        raise fail(where, "below is a condition of its own, without a baseline")
    if "below" in raw:
        if "baseline" in raw:
            raise fail(f"{where}.baseline", "below compares with a threshold, not a baseline")
        return Condition("below", share(raw["below"], f"{where}.below"))
    baseline = raw.get("baseline")
    bat = f"{where}.baseline"
    if not isinstance(baseline, dict) or len(baseline) != 1:
        raise fail(bat, "{same_weekday: N} or {previous: N}")
    keys(baseline, ("same_weekday", "previous"), bat)
    ((kind, periods),) = baseline.items()
    periods = whole(periods, f"{bat}.{kind}", 1, MAX_BASELINE, "a number of windows")
    drop = 0.0
    if "drop_percent" in raw:
        drop = number(raw["drop_percent"], f"{where}.drop_percent")
        if not 0 < drop < 100:
            raise fail(f"{where}.drop_percent", "a percentage between 0 and 100")
    if "significant" in raw:
        alpha = share(raw["significant"], f"{where}.significant")
        if alpha > 0.2:
            raise fail(f"{where}.significant", "a significance level of at most 0.2")
        return Condition("significant", alpha, kind, periods, drop)
    return Condition("drop_percent", drop, kind, periods)


def _scope(raw: Any, where: str) -> dict[str, Any]:
    if raw is None or raw == "all":
        return {"scope": "all"}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise fail(where, "all, {segment: NAME}, {each: {segments: [...]}} or {each: {field: F}}")
    keys(raw, ("segment", "each"), where)
    try:
        if "segment" in raw:
            spec = Breakdown("segment", segments=(text(raw["segment"], f"{where}.segment", 200),))
            spec.validate(2)
            return {"scope": "segment", "segment": raw["segment"]}
        each = raw["each"]
        eat = f"{where}.each"
        if not isinstance(each, dict) or len(each) != 1:
            raise fail(eat, "{segments: [names]} or {field: a column or properties.<key>}")
        keys(each, ("segments", "field"), eat)
        if "segments" in each:
            names = each["segments"]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise fail(f"{eat}.segments", "a list of segment names")
            breakdown = Breakdown("segment", segments=tuple(names))
        else:
            check_field(text(each["field"], f"{eat}.field", 200), f"{eat}.field", person=True)
            breakdown = Breakdown(each["field"])
        breakdown.validate(2)
    except SpecError as exc:
        if isinstance(exc, DocumentError):
            raise
        if exc.field.startswith(where):
            raise DocumentError(exc.field, exc.message) from None
        raise fail(where, str(exc)) from None
    return {"scope": "each", "breakdown": breakdown}


def check_webhook(url: str, where: str, allow_private: bool) -> str:
    """An http(s) URL that every parser reads alike, whose host is not an address that may not
    be posted to (alerts.webhook). A name's addresses are checked at each delivery, where the
    request goes to the address that was checked."""
    try:
        target = parse_target(url)
        address = literal(target)
        why = refusal(address, allow_private) if address is not None else ""
        if (
            address is None
            and not allow_private
            and target.host in ("localhost", "localhost.localdomain")
        ):
            why = f"{target.host} is a loopback host"
    except TargetError as exc:
        raise fail(where, str(exc)) from None
    if why:
        raise fail(where, f"{why}; set JOURNEY_ALERT_ALLOW_PRIVATE to allow")
    return url


def _channels(raw: Any, where: str, allow_private: bool) -> tuple[Channel, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 10:
        raise fail(where, "a list of 1 to 10 channels: {webhook: URL}, {email: [...]}, {log: true}")
    out = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise fail(at, "one of {webhook: URL}, {email: [addresses]}, {log: true}")
        keys(item, ("webhook", "email", "log"), at)
        ((kind, value),) = item.items()
        if kind == "webhook":
            url = text(value, f"{at}.webhook", 2000)
            out.append(Channel("webhook", check_webhook(url, f"{at}.webhook", allow_private)))
        elif kind == "email":
            addresses = [value] if isinstance(value, str) else value
            if not isinstance(addresses, list) or not 1 <= len(addresses) <= 20:
                raise fail(f"{at}.email", "an address or a list of 1 to 20")
            for j, a in enumerate(addresses):
                if not isinstance(a, str) or "@" not in parseaddr(a)[1] or "\n" in a:
                    raise fail(f"{at}.email[{j}]", f"{a!r} is not an email address")
            out.append(Channel("email", ",".join(addresses)))
        else:
            if value is not True:
                raise fail(f"{at}.log", "true")
            out.append(Channel("log"))
    return tuple(out)


def _quiet(raw: Any, where: str) -> QuietHours:
    if not isinstance(raw, dict):
        raise fail(where, '{from: "22:00", to: "07:00", timezone: Europe/Berlin}')
    keys(raw, ("from", "to", "timezone"), where)
    clock = []
    for key in ("from", "to"):
        value = raw.get(key)
        m = _CLOCK.match(value) if isinstance(value, str) else None
        if not m:
            raise fail(f"{where}.{key}", f"{value!r} is not a time like 22:00")
        clock.append(time(int(m[1]), int(m[2])))
    if clock[0] == clock[1]:
        raise fail(where, "from and to are the same time")
    zone = text(raw.get("timezone", "UTC"), f"{where}.timezone", 100)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"{where}.timezone", f"{zone!r} is not a time zone like Europe/Berlin") from None
    return QuietHours(clock[0], clock[1], zone)


RULE_KEYS = (
    "name",
    "description",
    "funnel",
    "experiment",
    "scope",
    "step",
    "every",
    "lookback",
    "condition",
    "min_people",
    "cooldown",
    "quiet_hours",
    "channels",
)


def parse_rule(raw: Any, where: str, allow_private: bool = False) -> Rule:
    if not isinstance(raw, dict):
        raise fail(where, "an alert rule (an object with a name)")
    keys(raw, RULE_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(f"{where}.name", "1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit")
    if "experiment" in raw:
        return _experiment_rule(raw, where, name, allow_private)
    funnel = raw.get("funnel")
    if not isinstance(funnel, dict):
        raise fail(f"{where}.funnel", "{steps: [...], window: 1h, mode: ordered}")
    keys(funnel, ("steps", "window", "mode", "include_bots"), f"{where}.funnel")
    include_bots = funnel.get("include_bots", False)
    if not isinstance(include_bots, bool):
        raise fail(f"{where}.funnel.include_bots", "true or false")
    steps = steps_of(funnel.get("steps"), f"{where}.funnel.steps")
    window = duration(funnel.get("window", "1d"), f"{where}.funnel.window")
    if window > timedelta(days=90):
        raise fail(f"{where}.funnel.window", "at most 90d")
    mode = choice(*MODES)(funnel.get("mode", "ordered"), f"{where}.funnel.mode")
    step = raw.get("step")
    if step is not None:
        step = whole(step, f"{where}.step", 2, len(steps), "a step number")
    every = duration(raw.get("every", "15m"), f"{where}.every")
    lookback = duration(raw.get("lookback", "1d"), f"{where}.lookback")
    if not timedelta(minutes=1) <= every <= timedelta(days=7):
        raise fail(f"{where}.every", "from 1m to 7d")
    if not timedelta(minutes=5) <= lookback <= timedelta(days=31):
        raise fail(f"{where}.lookback", "from 5m to 31d")
    if "condition" not in raw:
        raise fail(
            f"{where}.condition", "missing: {below}, {drop_percent, ...} or {significant, ...}"
        )
    return Rule(
        name=name,
        steps=steps,
        window=window,
        mode=mode,
        include_bots=include_bots,
        condition=_condition(raw["condition"], f"{where}.condition"),
        step=step,
        every=every,
        lookback=lookback,
        **_notifying(raw, where, allow_private),
        **_scope(raw.get("scope"), f"{where}.scope"),
    )


def _notifying(raw: dict[str, Any], where: str, allow_private: bool) -> dict[str, Any]:
    """What every rule has, whatever it watches: its channels, minimum people, cooldown,
    quiet hours and description (and itself as written)."""
    if "channels" not in raw:
        raise fail(f"{where}.channels", "missing: where notices go")
    return {
        "channels": _channels(raw["channels"], f"{where}.channels", allow_private),
        "min_people": whole(raw.get("min_people", 100), f"{where}.min_people", 1, 10_000_000),
        "cooldown": duration(raw.get("cooldown", "1h"), f"{where}.cooldown")
        if raw.get("cooldown") not in (0, "0")
        else timedelta(0),
        "quiet_hours": _quiet(raw["quiet_hours"], f"{where}.quiet_hours")
        if raw.get("quiet_hours") is not None
        else None,
        "description": text(raw.get("description", ""), f"{where}.description"),
        "source": raw,
    }


def _experiment_rule(raw: dict[str, Any], where: str, name: str, allow_private: bool) -> Rule:
    """A rule on an experiment's guardrails: a variant significantly worse than the control."""
    for key in ("funnel", "scope", "step", "lookback"):
        if key in raw:
            raise fail(f"{where}.{key}", "a rule on an experiment takes no funnel, scope or step")
    key = raw["experiment"]
    if not isinstance(key, str) or not _NAME.match(key):
        raise fail(f"{where}.experiment", "an experiment's key (journey experiments list)")
    condition = raw.get("condition")
    if not isinstance(condition, dict) or set(condition) != {"significant"}:
        raise fail(f"{where}.condition", "{significant: ALPHA}: a variant worse than the control")
    alpha = share(condition["significant"], f"{where}.condition.significant")
    if alpha > 0.2:
        raise fail(f"{where}.condition.significant", "a significance level of at most 0.2")
    every = duration(raw.get("every", "1h"), f"{where}.every")
    if not timedelta(minutes=1) <= every <= timedelta(days=7):
        raise fail(f"{where}.every", "from 1m to 7d")
    return Rule(
        name=name,
        steps=(),
        window=timedelta(0),
        mode="ordered",
        scope="each",
        condition=Condition("significant", alpha),
        every=every,
        experiment=key,
        **_notifying(raw, where, allow_private),
    )


def parse_document(doc: Any, where: str = "", allow_private: bool = False) -> list[Rule]:
    """Every rule of a document ``{version: 1, alerts: [...]}``."""
    return entries(
        doc, where, "alerts", FORMAT_VERSION, lambda item, at: parse_rule(item, at, allow_private)
    )


def load(path: Path, allow_private: bool = False) -> list[Rule]:
    """The rules of a ``.yaml``/``.yml`` or ``.json`` file."""
    return parse_document(read(path), str(path), allow_private)


def dumps(rule: Rule) -> str:
    """The rule as it was written, as canonical JSON (what versions compare)."""
    return json.dumps(rule.source, sort_keys=True, separators=(",", ":"), default=str)

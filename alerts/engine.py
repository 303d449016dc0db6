"""Evaluating alert rules: measure, judge, advance each alert's state, notify, keep history.

At a moment t a rule's cohort is the people who entered its funnel in the ``lookback`` that
ends one conversion window before t (alerts.rules). The funnel is computed by the analyzer
(analyzer.funnels.report.analyze), with the rule's scope as its segment filter or breakdown, for
that window and, with a baseline condition, for each baseline window (the same window 1..N weeks
or lookbacks earlier), summed. Window results are cached per rule, so a backtest over many
moments computes each window once.

``check`` evaluates rules now (or at a given moment) and writes every evaluation, with the
alert's state after it, to ``alert_evaluations``; the latest row per rule and scope is the
current state. Notices go out through alerts.channels and each delivery is written to
``alert_deliveries``. ``backtest`` replays a rule over past moments without writing or
sending anything.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts import lifecycle
from alerts.catalog import StoredRule, stored
from alerts.channels import Channels, Delivery, Notice
from alerts.rules import Rule, RuleError
from alerts.verdict import Counts, Verdict, judge
from analyzer import touchpoints
from analyzer.documents import pick
from analyzer.errors import SpecError
from analyzer.funnels.report import reached
from analyzer.funnels.spec import FunnelSpec
from core import metrics
from core.progress import Report, silent
from storage.sql import identifier
from storage.store import Store

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BACKTEST_MOMENTS = 5000


def cohort(rule: Rule, at: datetime) -> tuple[datetime, datetime]:
    """The entry window evaluated at ``at``: the lookback ending one conversion window ago."""
    end = at - rule.window
    return end - rule.lookback, end


class Measure:
    """Entered and converted per scope for a rule's entry windows, each computed once."""

    def __init__(self, store: Store, rule: Rule) -> None:
        self.store = store
        self.rule = rule
        self._cache: dict[tuple[datetime, datetime], dict[str, Counts]] = {}

    def scope_name(self, value: str) -> str:
        rule = self.rule
        if rule.scope == "all":
            return "all"
        if rule.scope == "segment":
            return f"segment={rule.segment}"
        assert rule.breakdown is not None
        return f"{rule.breakdown.field}={value}"

    def window(self, start: datetime, end: datetime) -> dict[str, Counts]:
        key = (start, end)
        if key not in self._cache:
            self._cache[key] = self._compute(start, end)
        return self._cache[key]

    def _compute(self, start: datetime, end: datetime) -> dict[str, Counts]:
        rule = self.rule
        spec = FunnelSpec(
            steps=touchpoints.resolve(self.store, rule.steps),
            date_from=start,
            date_to=end,
            window=rule.window,
            mode=rule.mode,
            breakdown=rule.breakdown,
            breakdown_limit=100,
            segment=rule.segment,
            include_bots=rule.include_bots,
        )
        people = reached(self.store, spec)
        k = rule.step

        def counts(steps: list[int]) -> Counts:
            if k is None:
                return Counts(steps[0], steps[-1])
            return Counts(steps[k - 2], steps[k - 1])

        if rule.breakdown is None:
            return {self.scope_name(""): counts(people.get(None, [0] * len(rule.steps)))}
        out = {}
        for value, steps in people.items():
            if value is None or (rule.breakdown.field == "segment" and value == ""):
                continue  # everyone, or (by segment) people in none of them: not a scope
            out[self.scope_name(value or "(none)")] = counts(steps)
        return out


@dataclass
class ScopeResult:
    scope: str
    verdict: Verdict
    step: lifecycle.Step
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class Evaluation:
    rule: str
    version: int
    at: datetime
    window_from: datetime
    window_to: datetime
    scopes: list[ScopeResult] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "at": self.at.isoformat(),
            "window_from": self.window_from.isoformat(),
            "window_to": self.window_to.isoformat(),
            "error": self.error,
            "scopes": [
                {
                    "scope": s.scope,
                    "outcome": s.verdict.outcome,
                    "entered": s.verdict.current.entered,
                    "converted": s.verdict.current.converted,
                    "rate": round(s.verdict.current.rate, 6),
                    "baseline_rate": None
                    if s.verdict.baseline is None
                    else round(s.verdict.baseline.rate, 6),
                    "p_value": s.verdict.p_value,
                    "reason": s.verdict.reason,
                    "state": s.step.state.state,
                    "changed": s.step.changed,
                    "notice": s.step.notice,
                    "held": s.step.held,
                    "deliveries": [vars(d) for d in s.deliveries],
                }
                for s in self.scopes
            ],
        }


def evaluate(
    measure: Measure, at: datetime, states: dict[str, lifecycle.State]
) -> tuple[datetime, datetime, list[tuple[str, Verdict, lifecycle.Step]]]:
    """Verdicts and state steps for every scope of ``measure``'s rule at ``at``."""
    rule = measure.rule
    start, end = cohort(rule, at)
    current = measure.window(start, end)
    baseline: dict[str, Counts] | None = None
    if rule.condition.kind != "below":
        baseline = {}
        for shift in rule.condition.baseline_shifts(rule.lookback):
            for scope, c in measure.window(start - shift, end - shift).items():
                baseline[scope] = baseline.get(scope, Counts(0, 0)) + c
    if rule.scope == "each":
        scopes = sorted(set(current) | set(baseline or {}) | set(states))
    else:
        scopes = [measure.scope_name("")]
    out = []
    for scope in scopes:
        verdict = judge(
            rule.condition,
            rule.min_people,
            current.get(scope, Counts(0, 0)),
            None if baseline is None else baseline.get(scope, Counts(0, 0)),
        )
        step = lifecycle.advance(rule, states.get(scope, lifecycle.State()), verdict.outcome, at)
        out.append((scope, verdict, step))
    return start, end, out


def _notice(
    rule: Rule,
    scope: str,
    kind: str,
    verdict: Verdict,
    at: datetime,
    start: datetime,
    end: datetime,
) -> Notice:
    label = "FIRING" if kind == "firing" else "RESOLVED"
    text = (
        f"[{label}] {rule.name} ({scope}): {rule.what} conversion {verdict.reason}; "
        f"people entering {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    )
    if rule.experiment is not None:
        text = f"[{label}] {rule.name} ({scope}): experiment {rule.experiment}: {verdict.reason}"
    details = {
        "description": rule.description,
        "conversion": rule.what,
        "window_from": start.isoformat(),
        "window_to": end.isoformat(),
        "entered": verdict.current.entered,
        "converted": verdict.current.converted,
        "rate": round(verdict.current.rate, 6),
        "baseline_rate": None if verdict.baseline is None else round(verdict.baseline.rate, 6),
        "drop_percent": None if verdict.drop_percent is None else round(verdict.drop_percent, 2),
        "p_value": verdict.p_value,
    }
    return Notice(rule.name, scope, kind, at, text, details)


def states(store: Store, rule: str) -> dict[str, lifecycle.State]:
    """The current state of each scope of ``rule``: its latest evaluation's."""
    rows = store.execute(
        "SELECT scope, argMax(state, written_us), argMax(notified, written_us), "
        "argMax(since, written_us), argMax(last_fired_notice, written_us) "
        f"FROM {identifier(store.database)}.alert_evaluations WHERE rule = %(r)s GROUP BY scope",
        {"r": rule},
    )
    out = {}
    for scope, state, notified, since, fired in rows:
        out[str(scope)] = lifecycle.State(str(state), str(notified), _moment(since), _moment(fired))
    return out


class Engine:
    def __init__(self, store: Store, channels: Channels) -> None:
        self.store = store
        self.channels = channels
        self.db = identifier(store.database)

    def states(self, rule: str) -> dict[str, lifecycle.State]:
        return states(self.store, rule)

    def due(self, now: datetime | None = None) -> list[str]:
        """Rules whose last evaluation is at least their ``every`` ago (or that never ran)."""
        now = now or datetime.now(UTC)
        last = {
            str(rule): _moment(at)
            for rule, at in self.store.execute(
                f"SELECT rule, max(at) FROM {self.db}.alert_evaluations GROUP BY rule"
            )
        }
        out = []
        for name, s in stored(self.store).items():
            previous = last.get(name)
            if previous is None or now - previous >= s.rule.every - timedelta(seconds=1):
                out.append(name)
        return out

    def check(
        self, names: Sequence[str] | None = None, at: datetime | None = None
    ) -> list[Evaluation]:
        """Evaluate the named rules (every defined one by default) at ``at`` (now)."""
        chosen = pick(stored(self.store), names, "alert rule")
        at = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        return [self._check_one(s, at) for s in chosen]

    def _check_one(self, s: StoredRule, at: datetime) -> Evaluation:
        rule = s.rule
        start, end = cohort(rule, at)
        evaluation = Evaluation(rule.name, s.version, at, start, end)
        counted = metrics.alerts()
        try:
            if rule.experiment is not None:
                results = self._guardrails(rule, at)
            else:
                _, _, results = evaluate(Measure(self.store, rule), at, self.states(rule.name))
        except SpecError as exc:  # a segment never refreshed, a step that cannot be computed
            evaluation.error = str(exc)
            log.error("alert %s cannot be evaluated: %s", rule.name, exc)
            counted.evaluations.labels(rule.name, "error").inc()
            return evaluation
        deliveries = []
        for scope, verdict, step in results:
            result = ScopeResult(scope, verdict, step)
            counted.evaluations.labels(rule.name, verdict.outcome).inc()
            if step.notice is not None:
                if step.notice == "firing":
                    counted.firings.labels(rule.name).inc()
                notice = _notice(rule, scope, step.notice, verdict, at, start, end)
                result.deliveries = self.channels.deliver(notice, rule.channels)
                for d in result.deliveries:
                    if not d.ok:
                        counted.deliveries_failed.labels(d.channel).inc()
                deliveries += [(scope, step.notice, d) for d in result.deliveries]
            evaluation.scopes.append(result)
        self._write(evaluation)
        if deliveries:
            self.store.insert(
                "alert_deliveries",
                (
                    "rule",
                    "scope",
                    "at",
                    "notice",
                    "channel",
                    "target",
                    "attempts",
                    "ok",
                    "error",
                ),
                [
                    (
                        rule.name,
                        scope,
                        at,
                        kind,
                        d.channel,
                        d.target,
                        d.attempts,
                        int(d.ok),
                        d.error,
                    )
                    for scope, kind, d in deliveries
                ],
            )
        return evaluation

    def _guardrails(self, rule: Rule, at: datetime) -> list[tuple[str, Verdict, lifecycle.Step]]:
        """Verdicts and state steps of an experiment rule's guardrails (alerts.guardrails)."""
        from alerts.guardrails import verdicts

        before = self.states(rule.name)
        return [
            (scope, verdict, lifecycle.advance(rule, before.get(scope, lifecycle.State()),
                                               verdict.outcome, at))
            for scope, verdict in verdicts(self.store, rule, at)
        ]  # fmt: skip

    def _write(self, e: Evaluation) -> None:
        rows = []
        written = time.time_ns() // 1000
        for s in e.scopes:
            v, st = s.verdict, s.step.state
            rows.append(
                (
                    e.rule,
                    e.version,
                    s.scope,
                    e.at,
                    e.window_from,
                    e.window_to,
                    v.current.entered,
                    v.current.converted,
                    v.current.rate,
                    v.baseline.entered if v.baseline else 0,
                    v.baseline.converted if v.baseline else 0,
                    v.baseline.rate if v.baseline else math.nan,
                    math.nan if v.p_value is None else v.p_value,
                    v.outcome,
                    v.reason,
                    st.state,
                    st.notified,
                    int(s.step.changed),
                    st.since or EPOCH,
                    st.last_fired_notice or EPOCH,
                    s.step.notice or "",
                    s.step.held,
                    written,
                )
            )
        if rows:
            self.store.insert("alert_evaluations", EVALUATION_COLUMNS, rows)


EVALUATION_COLUMNS = (
    "rule",
    "version",
    "scope",
    "at",
    "window_from",
    "window_to",
    "entered",
    "converted",
    "rate",
    "baseline_entered",
    "baseline_converted",
    "baseline_rate",
    "p_value",
    "outcome",
    "reason",
    "state",
    "notified",
    "changed",
    "since",
    "last_fired_notice",
    "notice",
    "held",
    "written_us",
)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return None if moment <= EPOCH else moment


@dataclass(frozen=True)
class Replayed:
    at: datetime
    scope: str
    change: str  # fired, resolved
    notice: str  # would be sent: firing/resolved, or held (why), or ''
    reason: str


def backtest(
    store: Store,
    rule: Rule,
    since: datetime,
    until: datetime,
    every: timedelta | None = None,
    progress: Report = silent,
) -> list[Replayed]:
    """When ``rule`` would have fired and resolved between ``since`` and ``until``, evaluated
    every ``every`` (the rule's own by default). Nothing is written or sent."""
    step = every or rule.every
    if rule.experiment is not None:
        raise RuleError("name: a rule on an experiment's guardrails is not backtested")
    if not since < until:
        raise RuleError("since: must be before until")
    moments = int((until - since) / step) + 1
    if moments > MAX_BACKTEST_MOMENTS:
        raise RuleError(
            f"every: {moments} evaluations between since and until; at most "
            f"{MAX_BACKTEST_MOMENTS}, so evaluate less often (--every) or over less time"
        )
    measure = Measure(store, rule)
    states: dict[str, lifecycle.State] = {}
    out = []
    at = since
    done = 0
    while at <= until:
        _, _, results = evaluate(measure, at, states)
        done += 1
        progress(f"evaluated {done} of {moments} moments (at {at:%Y-%m-%d %H:%M})")
        for scope, verdict, s in results:
            states[scope] = s.state
            notice = s.notice or (f"held: {s.held}" if s.held else "")
            if s.changed:
                change = "fired" if s.state.state == "firing" else "resolved"
                out.append(Replayed(at, scope, change, notice, verdict.reason))
            elif s.notice:
                out.append(Replayed(at, scope, "notice sent late", notice, verdict.reason))
        at += step
    return out


def history(
    store: Store, rule: str, limit: int = 100, changes_only: bool = False
) -> list[dict[str, Any]]:
    """The latest evaluations of ``rule`` (or only its state changes and notices), newest first."""
    if not 1 <= limit <= 10_000:
        raise RuleError("limit: from 1 to 10000 rows")
    where = "rule = %(r)s" + (" AND (changed = 1 OR notice != '')" if changes_only else "")
    keys = (
        "at",
        "scope",
        "outcome",
        "state",
        "changed",
        "notice",
        "held",
        "entered",
        "converted",
        "rate",
        "baseline_rate",
        "p_value",
        "reason",
    )
    rows = store.execute(
        f"SELECT {', '.join(keys)} FROM {identifier(store.database)}.alert_evaluations "
        f"WHERE {where} ORDER BY written_us DESC, scope LIMIT {int(limit)}",
        {"r": rule},
    )
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["at"] = _moment(item["at"])
        for k in ("rate", "baseline_rate", "p_value"):
            item[k] = None if math.isnan(item[k]) else round(float(item[k]), 6)
        item["changed"] = bool(item["changed"])
        out.append(item)
    return out


def deliveries(store: Store, rule: str, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= 10_000:
        raise RuleError("limit: from 1 to 10000 rows")
    keys = ("at", "scope", "notice", "channel", "target", "attempts", "ok", "error")
    rows = store.execute(
        f"SELECT {', '.join(keys)} FROM {identifier(store.database)}.alert_deliveries "
        f"WHERE rule = %(r)s ORDER BY at DESC LIMIT {int(limit)}",
        {"r": rule},
    )
    return [
        {**dict(zip(keys, row, strict=True)), "at": _moment(row[0]), "ok": bool(row[6])}
        for row in rows
    ]

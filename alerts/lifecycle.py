"""An alert's lifecycle for one rule and scope: pure state, no storage and no sending.

The state is ``ok`` or ``firing``; what the receivers last heard (``notified``) is tracked
apart from it. A breach makes it firing, an ok verdict resolves it, and an insufficient one
(too few people) leaves it as it was. Whenever the state differs from what was last heard, a
notice is due: ``firing`` or ``resolved``. It waits during quiet hours, and a firing notice
waits until ``cooldown`` has passed since the previous one; a notice that waited is sent at
the first evaluation it is allowed, if the state still differs (so an alert that fired and
resolved inside quiet hours wakes nobody). An alert fires once and stays firing, silently,
until it resolves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from alerts.rules import Rule


@dataclass(frozen=True)
class State:
    state: str = "ok"  # ok or firing
    notified: str = "ok"  # what the receivers last heard
    since: datetime | None = None  # when the state began
    last_fired_notice: datetime | None = None


@dataclass(frozen=True)
class Step:
    state: State
    changed: bool  # the state changed at this evaluation
    notice: str | None  # firing or resolved: send it now
    held: str = ""  # why a due notice waits: quiet hours, cooldown


def advance(rule: Rule, before: State, outcome: str, at: datetime) -> Step:
    """The state after an evaluation with ``outcome`` (ok, breach, insufficient) at ``at``."""
    target = {"breach": "firing", "ok": "ok"}.get(outcome, before.state)
    changed = target != before.state
    state = replace(before, state=target, since=at if changed else before.since)
    if state.state == state.notified:
        return Step(state, changed, None)
    if rule.quiet_hours is not None and rule.quiet_hours.contains(at):
        return Step(state, changed, None, "quiet hours")
    if (
        state.state == "firing"
        and state.last_fired_notice is not None
        and at - state.last_fired_notice < rule.cooldown
    ):
        return Step(state, changed, None, "cooldown")
    notice = "firing" if state.state == "firing" else "resolved"
    state = replace(
        state,
        notified=state.state,
        last_fired_notice=at if notice == "firing" else state.last_fired_notice,
    )
    return Step(state, changed, notice)

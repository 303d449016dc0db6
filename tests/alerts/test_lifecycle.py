"""The lifecycle of an alert: fires once, stays firing silently, resolves with a notice;
cooldown and quiet hours hold notices back and let them out later."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from alerts.lifecycle import State, advance
from alerts.rules import Channel, Condition, QuietHours, Rule, Step

RULE = Rule(
    name="r",
    steps=(Step("A"), Step("B")),
    window=timedelta(hours=1),
    mode="ordered",
    scope="all",
    condition=Condition("below", 0.2),
    channels=(Channel("log"),),
    cooldown=timedelta(hours=2),
)
T = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
M = timedelta(minutes=15)


def run(rule: Rule, outcomes: list[str], start: datetime = T) -> list[tuple[str, str | None, str]]:
    state, out = State(), []
    for i, outcome in enumerate(outcomes):
        step = advance(rule, state, outcome, start + i * M)
        state = step.state
        out.append((state.state, step.notice, step.held))
    return out


def test_fires_once_stays_silent_and_resolves() -> None:
    assert run(RULE, ["ok", "breach", "breach", "insufficient", "breach", "ok", "ok"]) == [
        ("ok", None, ""),
        ("firing", "firing", ""),
        ("firing", None, ""),
        ("firing", None, ""),  # too few people: no verdict, the state holds
        ("firing", None, ""),
        ("ok", "resolved", ""),
        ("ok", None, ""),
    ]


def test_insufficient_data_never_fires() -> None:
    assert run(RULE, ["insufficient"] * 3) == [("ok", None, "")] * 3


def test_cooldown_holds_a_new_firing_notice_until_it_passes() -> None:
    # fires at 0, resolves at 15m, fires again at 30m: inside the 2h cooldown
    steps = run(RULE, ["breach", "ok", "breach"] + ["breach"] * 8)
    assert steps[:3] == [
        ("firing", "firing", ""),
        ("ok", "resolved", ""),
        ("firing", None, "cooldown"),
    ]
    # held at every evaluation until 2h after the first notice (evaluation 8), then sent once
    assert [s[1] for s in steps[3:]] == [None, None, None, None, None, "firing", None, None]
    assert all(s[2] == "cooldown" for s in steps[3:8])


def test_a_flap_inside_the_cooldown_wakes_nobody() -> None:
    steps = run(RULE, ["breach", "ok", "breach", "ok"])
    assert steps[2:] == [("firing", None, "cooldown"), ("ok", None, "")]


def test_quiet_hours_hold_notices_and_release_them_after() -> None:
    quiet = replace(RULE, quiet_hours=QuietHours(time(22, 0), time(7, 0), "Europe/Berlin"))
    night = datetime(2026, 5, 4, 20, 30, tzinfo=UTC)  # 22:30 in Berlin (summer time)
    assert quiet.quiet_hours is not None and quiet.quiet_hours.contains(night)
    assert not quiet.quiet_hours.contains(datetime(2026, 5, 4, 5, 0, tzinfo=UTC))  # 07:00
    state = advance(quiet, State(), "breach", night).state
    assert (state.state, state.notified) == ("firing", "ok")
    morning = datetime(2026, 5, 5, 5, 0, tzinfo=UTC)
    step = advance(quiet, state, "breach", morning)
    assert step.notice == "firing" and step.state.notified == "firing" and not step.changed


def test_fired_and_resolved_inside_quiet_hours_sends_nothing() -> None:
    quiet = replace(RULE, quiet_hours=QuietHours(time(22, 0), time(7, 0), "UTC"))
    night = datetime(2026, 5, 4, 23, 0, tzinfo=UTC)
    held = advance(quiet, State(), "breach", night)
    assert held.held == "quiet hours" and held.notice is None
    back = advance(quiet, held.state, "ok", night + M)
    assert back.notice is None and back.held == "" and back.changed
    assert advance(quiet, back.state, "ok", datetime(2026, 5, 5, 8, 0, tzinfo=UTC)).notice is None

"""Sessions: a person's events split after a gap of inactivity (30 minutes unless configured).

``boundaries`` gives the SQL that marks where sessions begin in a person timeline
(analyzer.timeline); ``summary`` counts sessions, their length and bounces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR
from analyzer.timeline import timelines
from analyzer.vocabulary import check_range
from storage.store import Store

DEFAULT_TIMEOUT_MINUTES = 30


def check_timeout(minutes: int) -> int:
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise SpecError("session_timeout", "from 1 to 1440 minutes")
    return minutes


def boundaries(times: str = "times") -> str:
    """SQL: a 0/1 array, 1 where an event starts a session (the first, and any after a gap
    longer than ``%(session_timeout_ms)s``)."""
    return (
        f"arrayMap((t, p) -> toUInt8(p = 0 OR t - p > %(session_timeout_ms)s), {times}, "
        f"arrayPopBack(arrayPushFront({times}, toUInt64(0))))"
    )


@dataclass(frozen=True)
class SessionSummary:
    people: int
    sessions: int
    events: int
    median_seconds: float
    bounce_rate: float  # sessions with one event


def summary(
    store: Store,
    date_from: datetime,
    date_to: datetime,
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES,
    include_bots: bool = False,
) -> SessionSummary:
    """Sessions of tracked, page and screen events in the range, identity-stitched (bots'
    only with ``include_bots``)."""
    check_range(date_from, date_to)
    params: dict[str, Any] = {
        "from_s": int(date_from.timestamp()),
        "to_s": int(date_to.timestamp()),
        "session_timeout_ms": check_timeout(timeout_minutes) * 60_000,
    }
    where = (
        f"{BEHAVIOUR} AND timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(to_s)s)"
    )
    # per person: where sessions start and end (positions), so each session's length and events
    per_person = (
        f"SELECT person_id, {boundaries()} AS b, "
        "arrayPopFront(arrayPushBack(b, toUInt8(1))) AS last, "
        "arrayFilter((t, s) -> s = 1, times, b) AS start_times, "
        "arrayFilter((t, s) -> s = 1, times, last) AS end_times, "
        "arrayFilter((i, s) -> s = 1, arrayEnumerate(b), b) AS start_at, "
        "arrayFilter((i, s) -> s = 1, arrayEnumerate(b), last) AS end_at "
        f"FROM {timelines(store.database, {}, where, include_bots=include_bots)}"
    )
    sessions = (
        "SELECT person_id, arrayJoin(arrayMap((s, e, i, j) -> (e - s, j - i + 1), "
        f"start_times, end_times, start_at, end_at)) AS session FROM ({per_person})"
    )
    row = store.execute(
        "SELECT uniqExact(person_id), count(), sum(tupleElement(session, 2)), "
        "quantileExact(0.5)(tupleElement(session, 1)), countIf(tupleElement(session, 2) = 1) "
        f"FROM ({sessions})",
        params,
    )[0]
    people, count, events, median, bounces = (int(v or 0) for v in row)
    return SessionSummary(
        people=people,
        sessions=count,
        events=events,
        median_seconds=median / 1000,
        bounce_rate=bounces / count if count else 0.0,
    )

"""Independent reference implementations, in plain Python and pandas, of what the analyzer
computes in ClickHouse SQL. Written for clarity, not speed: loops over people and events."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pandas as pd

from analyzer.funnels import FunnelSpec, Step
from analyzer.funnels.report import BINS

BEHAVIOUR = ("track", "page", "screen")


def persons(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Deduplicated events with their stitched person_id."""
    df = pd.DataFrame(events).drop_duplicates("event_id")
    pairs = [
        (r.anonymous_id, r.user_id, r.timestamp_ms)
        for r in df.itertuples()
        if r.anonymous_id and r.user_id and r.anonymous_id != r.user_id
    ]
    pairs += [
        (r.previous_id, r.user_id, r.timestamp_ms)
        for r in df.itertuples()
        if r.type == "alias" and r.previous_id and r.user_id and r.previous_id != r.user_id
    ]
    links: dict[str, tuple[int, str]] = {}
    for source, target, at in pairs:
        if source not in links or at < links[source][0]:
            links[source] = (at, target)

    def person(row: Any) -> str:
        key = row.user_id or row.anonymous_id
        for _ in range(2):
            key = links[key][1] if key in links else key
        return key

    df["person_id"] = [person(r) for r in df.itertuples()]
    return df


def journeys(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each person's events in (time, tie) order."""
    df = persons(events)
    out: dict[str, list[Any]] = {}
    for person_id, group in df.groupby("person_id"):
        out[str(person_id)] = sorted(group.itertuples(), key=lambda r: (r.timestamp_ms, r.tie))
    return out


def value_of(row: Any, name: str) -> str:
    if name.startswith("properties."):
        return str(json.loads(row.properties).get(name.split(".", 1)[1], ""))
    return str(getattr(row, name))


def matches(step: Step, row: Any) -> bool:
    if row.event != step.event:
        return False
    for f in step.filters:
        value = value_of(row, f.field)
        if f.op == "eq":
            ok = value == f.value
        elif f.op == "neq":
            ok = value != f.value
        elif f.op == "in":
            ok = value in f.value
        else:
            ok = re.search(f.value, value) is not None
        if not ok:
            return False
    return True


def funnel_people(events: list[dict[str, Any]], spec: FunnelSpec) -> dict[str, dict[str, Any]]:
    """Per person who entered: level (0 = every attempt excluded), step times, value."""
    lo, hi = int(spec.date_from.timestamp() * 1000), int(spec.date_to.timestamp() * 1000)
    window = int(spec.window.total_seconds() * 1000)
    first_s = int(spec.date_from.timestamp())
    until_s = int((spec.date_to + spec.window).timestamp()) + 1
    n = len(spec.steps)
    out: dict[str, dict[str, Any]] = {}
    for person_id, journey in journeys(events).items():
        in_range = [r for r in journey if first_s <= r.timestamp < until_s]
        if spec.mode == "strict":
            rows = [r for r in in_range if r.type in BEHAVIOUR]
        else:
            rows = [
                r
                for r in in_range
                if any(matches(s, r) for s in spec.steps)
                or any(matches(e.step, r) for e in spec.exclusions)
            ]
        flags = [[matches(s, r) for r in rows] for s in spec.steps]
        ex_flags = [[matches(e.step, r) for r in rows] for e in spec.exclusions]
        times = [r.timestamp_ms for r in rows]
        starts = [
            i
            for i in range(len(rows))
            if lo <= times[i] < hi
            and (any(f[i] for f in flags) if spec.mode == "any" else flags[0][i])
        ]
        if not starts:
            continue
        attempts = []
        for s in starts:
            if spec.mode == "any":
                found = []
                for k in range(n):
                    j = next(
                        (
                            j
                            for j in range(s, len(rows))
                            if flags[k][j] and times[j] <= times[s] + window
                        ),
                        None,
                    )
                    if j is not None:
                        found.append(j)
                path = sorted(found)
            else:
                path = [s]
                for k in range(1, n):
                    if spec.mode == "strict":
                        j = path[-1] + 1
                        nxt = (
                            j
                            if j < len(rows) and flags[k][j] and times[j] <= times[s] + window
                            else None
                        )
                    else:
                        nxt = next(
                            (
                                j
                                for j in range(path[-1] + 1, len(rows))
                                if flags[k][j] and times[j] <= times[s] + window
                            ),
                            None,
                        )
                    if nxt is None:
                        break
                    path.append(nxt)
            excluded = False
            for e, ex in enumerate(spec.exclusions):
                a, b = ex.after, ex.before or n
                if len(path) < a:
                    continue
                for j in range(len(rows)):
                    if not ex_flags[e][j] or j <= path[a - 1]:
                        continue
                    if (
                        (j < path[b - 1])
                        if len(path) >= b
                        else (times[j] <= times[path[0]] + window)
                    ):
                        excluded = True
            attempts.append((0 if excluded else len(path), path))
        level = max(a[0] for a in attempts)
        path = next(p for lv, p in attempts if lv == level)
        value = ""
        b = spec.breakdown
        if b is not None and b.field.startswith("person."):
            trait = b.field.split(".", 1)[1]
            values = [
                str(json.loads(r.traits)[trait])
                for r in journey
                if r.type == "identify" and trait in json.loads(r.traits)
            ]
            values = [v for v in values if v]
            value = values[-1] if values else ""
        elif b is not None:
            if b.attribution == "first_touch":
                value = value_of(rows[path[0]], b.field)
            elif b.attribution == "last_touch":
                value = value_of(rows[path[level - 1] if level else path[-1]], b.field)
            else:
                assert b.step is not None
                value = value_of(rows[path[b.step - 1]], b.field) if level >= b.step else ""
        out[person_id] = {
            "level": level,
            "times": [times[j] for j in path[:level]],
            "value": value,
            "rows": [rows[j] for j in path[:level]],
        }
    return out


def quantile(values: list[int], q: float) -> float | None:
    """ClickHouse's quantileExact: the element at floor(q * n) of the sorted values."""
    if not values:
        return None
    return sorted(values)[int(q * len(values))] / 1000


def funnel_steps(
    people: list[dict[str, Any]], n: int
) -> list[tuple[int, float | None, float | None]]:
    """(people, median s, p90 s) per step."""
    out = []
    for k in range(n):
        reached = [p for p in people if p["level"] >= k + 1]
        gaps = [p["times"][k] - p["times"][k - 1] for p in reached] if k else []
        out.append(
            (len(reached), quantile(gaps, 0.5) if k else None, quantile(gaps, 0.9) if k else None)
        )
    return out


def funnel(events: list[dict[str, Any]], spec: FunnelSpec) -> dict[str, Any]:
    people = funnel_people(events, spec)
    entered = [p for p in people.values() if p["level"] > 0]
    n = len(spec.steps)
    result: dict[str, Any] = {
        "steps": funnel_steps(entered, n),
        "excluded": sum(1 for p in people.values() if p["level"] == 0),
    }
    histograms = []
    for g in range(n):
        to = g + 2 if g < n - 1 else n
        frm = g + 1 if g < n - 1 else 1
        gaps = [p["times"][to - 1] - p["times"][frm - 1] for p in entered if p["level"] >= to]
        bins = [
            sum(1 for x in gaps if lo * 1000 <= x < hi * 1000)
            for lo, hi in zip(BINS, BINS[1:], strict=False)
            if lo * 1000 <= int(spec.window.total_seconds() * 1000)
        ]
        histograms.append((frm, to, bins))
    result["histograms"] = histograms
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in entered:
        groups[p["value"] or "(none)"].append(p)
    result["breakdown"] = {value: funnel_steps(ps, n) for value, ps in groups.items()}
    return result


def trend(
    events: list[dict[str, Any]], spec: FunnelSpec, interval: str
) -> list[tuple[str, list[int]]]:
    people = [p for p in funnel_people(events, spec).values() if p["level"] > 0]
    buckets: dict[str, list[int]] = {}
    for p in people:
        day = pd.Timestamp(p["times"][0], unit="ms", tz="UTC").normalize()
        if interval == "week":
            day = day - pd.Timedelta(days=day.weekday())
        counts = buckets.setdefault(day.date().isoformat(), [0] * len(spec.steps))
        for k in range(p["level"]):
            counts[k] += 1
    return sorted(buckets.items())

"""Independent reference implementations, in plain Python and pandas, of what the analyzer
computes in ClickHouse SQL. Written for clarity, not speed: loops over people and events."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import replace
from typing import Any

import pandas as pd

from analyzer.funnels import FunnelSpec
from analyzer.funnels.report import BINS
from analyzer.vocabulary import Breakdown, Step

BEHAVIOUR = ("track", "page", "screen")


def persons(events: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Deduplicated events with their stitched person_id."""
    df = (events if isinstance(events, pd.DataFrame) else pd.DataFrame(events)).drop_duplicates(
        "event_id"
    )
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
    return str(getattr(row, name, ""))  # columns the logs leave out are empty


def breakdown_value(row: Any, breakdown: Breakdown) -> str:
    """A breakdown's value on ``row``: one field's, or a combination's, each field's value
    shown joined by " / " (an empty one as (none))."""
    values = [value_of(row, f) for f in (breakdown.field, *breakdown.more)]
    if len(values) == 1:
        return values[0]
    return " / ".join(v or "(none)" for v in values)


def matches(step: Step, row: Any) -> bool:
    if step.any_of:
        return any(matches(t, row) for t in step.any_of)
    if step.event and row.event != step.event:
        return False
    if not step.event and row.type not in ("track", "page", "screen"):
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
    timeout = spec.session_timeout * 60_000
    for person_id, journey in journeys(events).items():
        in_range = [r for r in journey if first_s <= r.timestamp < until_s]
        # the session of each event people do: a new one after a gap of more than the timeout
        session: dict[int, int] = {}
        last, number = None, 0
        for r in (r for r in in_range if r.type in BEHAVIOUR):
            if last is None or r.timestamp_ms - last > timeout:
                number += 1
            session[id(r)] = number
            last = r.timestamp_ms
        if spec.mode == "strict":
            rows = [r for r in in_range if r.type in BEHAVIOUR]
        else:
            rows = [
                r
                for r in in_range
                if any(matches(s, r) for s in spec.steps)
                or any(matches(e.step, r) for e in spec.exclusions)
            ]
        if spec.hold == "session":
            held = [session.get(id(r)) for r in rows]
        elif spec.hold is not None:
            held = [value_of(r, spec.hold) for r in rows]
        else:
            held = [None for _ in rows]
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

        def can_be(
            k: int,
            j: int,
            s: int,
            prev: int | None,
            flags: list[list[bool]] = flags,
            times: list[int] = times,
            held: list[Any] = held,
        ) -> bool:
            """Event j can be step k of the attempt starting at s, the step before at prev:
            the step's, within the window, holding the start's value and within its gap."""
            if not flags[k][j] or times[j] > times[s] + window or held[j] != held[s]:
                return False
            gap = spec.gap(k + 1) if prev is not None else None
            if gap is None:
                return True
            since = times[j] - times[prev]
            return since >= gap.least_ms and (gap.most_ms is None or since <= gap.most_ms)

        attempts = []
        for s in starts:
            if spec.mode == "any":
                found = []
                for k in range(n):
                    j = next(
                        (j for j in range(s, len(rows)) if can_be(k, j, s, None)),
                        None,
                    )
                    if j is not None:
                        found.append(j)
                path = sorted(found)
            else:
                path = [s]
                for k in range(1, n):
                    if spec.mode == "strict":  # the very next event
                        j = path[-1] + 1
                        nxt = j if j < len(rows) and can_be(k, j, s, path[-1]) else None
                    else:
                        nxt = next(
                            (
                                j
                                for j in range(path[-1] + 1, len(rows))
                                if can_be(k, j, s, path[-1])
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
                value = breakdown_value(rows[path[0]], b)
            elif b.attribution == "last_touch":
                value = breakdown_value(rows[path[level - 1] if level else path[-1]], b)
            else:
                assert b.step is not None
                value = breakdown_value(rows[path[b.step - 1]], b) if level >= b.step else ""
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


def element(row: Any, kind: str, cleaning: tuple[tuple[str, str], ...]) -> str | None:
    """The path element of an event, or None if the kind leaves it out."""
    if kind == "page":
        if row.type not in ("page", "screen"):
            return None
    elif kind == "event":
        if row.type != "track":
            return None
    elif row.type not in BEHAVIOUR:
        return None
    value = row.page_path if row.type == "page" else row.event
    for pattern, alias in cleaning:
        value = re.sub(pattern, alias.replace("\\", "\\\\"), value)
    return str(value)


def sessions(rows: list[Any], timeout_ms: int) -> list[list[Any]]:
    out: list[list[Any]] = []
    for r in rows:
        if not out or r.timestamp_ms - out[-1][-1].timestamp_ms > timeout_ms:
            out.append([r])
        else:
            out[-1].append(r)
    return out


def collapse(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for el, t in items:
        if not out or out[-1][0] != el:
            out.append((el, t))
    return out


def paths(events: list[dict[str, Any]], spec: Any) -> list[tuple[list[str], list[int]]]:
    """(elements, times) of every path the spec counts."""
    n = spec.max_length
    out = []
    if spec.funnel is not None:
        people = funnel_people(events, spec.funnel)
        lo = int(spec.funnel.date_from.timestamp())
        hi = int((spec.funnel.date_to + spec.funnel.window).timestamp()) + 1
        all_journeys = journeys(events)
        converted = getattr(spec, "converted", False)
        for person_id, p in people.items():
            if converted and p["level"] > spec.dropped_at:  # between the step and the next
                journey = [r for r in all_journeys[person_id] if lo <= r.timestamp < hi]
                ids = [r.event_id for r in journey]
                at = ids.index(p["rows"][spec.dropped_at - 1].event_id)
                until = ids.index(p["rows"][spec.dropped_at].event_id)
                items = [
                    (el, r.timestamp_ms)
                    for r in journey[at + 1 : until]
                    if (el := element(r, spec.kind, spec.cleaning)) is not None
                ]
                items = collapse(items)[: n - 1] + [
                    ("(the next step)", p["times"][spec.dropped_at])
                ]
                out.append(([e for e, _ in items], [t for _, t in items]))
                continue
            if converted or p["level"] != spec.dropped_at:
                continue
            journey = [r for r in all_journeys[person_id] if lo <= r.timestamp < hi]
            at = [r.event_id for r in journey].index(p["rows"][-1].event_id)
            items = [
                (el, r.timestamp_ms)
                for r in journey[at + 1 :]
                if (el := element(r, spec.kind, spec.cleaning)) is not None
            ]
            items = collapse(items)[:n]
            if not items:
                items = [("(no further events)", p["times"][-1])]
            out.append(([e for e, _ in items], [t for _, t in items]))
        return out
    lo, hi = int(spec.date_from.timestamp()), int(spec.date_to.timestamp())
    for journey in journeys(events).values():
        rows = [
            r
            for r in journey
            if lo <= r.timestamp < hi and element(r, spec.kind, spec.cleaning) is not None
        ]
        start_step = getattr(spec, "start_step", None)
        end_step = getattr(spec, "end_step", None)
        for session in sessions(rows, spec.session_timeout * 60_000):
            # the first event of each run of one element stands for the run, flags and all
            kept = [
                (str(element(r, spec.kind, spec.cleaning)), r)
                for i, r in enumerate(session)
                if i == 0
                or element(r, spec.kind, spec.cleaning)
                != element(session[i - 1], spec.kind, spec.cleaning)
            ]
            items = [(e, r.timestamp_ms) for e, r in kept]
            starts = [
                bool(start_step and matches(start_step, r)) or e == spec.start for e, r in kept
            ]
            ends = [bool(end_step and matches(end_step, r)) or e == spec.end for e, r in kept]
            if (spec.start or start_step) and (spec.end or end_step):
                if True not in starts:
                    continue
                i = starts.index(True)
                items, ends = items[i:], ends[i:]
                if True not in ends:
                    continue
                e = ends.index(True) + 1
                items = items[:e] if e <= n else items[: n - 2] + [("…", 0), items[e - 1]]
            elif spec.start or start_step:
                if True not in starts:
                    continue
                i = starts.index(True)
                items = items[i : i + n]
            elif spec.end or end_step:
                if True not in ends:
                    continue
                e = ends.index(True)
                items = items[max(0, e - n + 1) : e + 1]
            else:
                items = items[:n]
            out.append(([e for e, _ in items], [t for _, t in items]))
    return out


def top_paths(events: list[dict[str, Any]], spec: Any) -> tuple[int, list[tuple[list[str], int]]]:
    found = paths(events, spec)
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    for els, _ in found:
        counts[tuple(els)] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], list(kv[0])))
    return len(found), [(list(p), c) for p, c in ranked[: spec.top]]


def edges(
    events: list[dict[str, Any]], spec: Any
) -> dict[tuple[int, str, str], tuple[int, float | None]]:
    found = paths(events, spec)
    acc: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    for els, ts in found:
        for i, source in enumerate(els):
            target = els[i + 1] if i + 1 < len(els) else "(end)"
            key = (i + 1, source, target)
            counts[key] += 1
            if target != "(end)" and "…" not in (source, target):
                acc[key].append(ts[i + 1] - ts[i])
    return {
        k: (c, (sum(acc[k]) / len(acc[k]) / 1000) if acc[k] else None) for k, c in counts.items()
    }


def session_summary(
    events: list[dict[str, Any]], lo: int, hi: int, timeout_ms: int
) -> tuple[int, int, int, float, int]:
    """(people, sessions, events, median seconds, one-event sessions)."""
    people = sessions_count = n_events = bounces = 0
    lengths = []
    for journey in journeys(events).values():
        rows = [r for r in journey if r.type in BEHAVIOUR and lo <= r.timestamp < hi]
        if not rows:
            continue
        people += 1
        for s in sessions(rows, timeout_ms):
            sessions_count += 1
            n_events += len(s)
            bounces += len(s) == 1
            lengths.append(s[-1].timestamp_ms - s[0].timestamp_ms)
    median = quantile(lengths, 0.5) or 0.0
    return people, sessions_count, n_events, median, bounces


def period_key(ms: int, period: str) -> tuple[Any, int]:
    """(start date of the period, a number whose differences count periods)."""
    day = pd.Timestamp(ms, unit="ms", tz="UTC").date()
    if period == "day":
        return day, day.toordinal()
    if period == "week":
        monday = day - pd.Timedelta(days=day.weekday())
        return monday, monday.toordinal() // 7
    first = day.replace(day=1)
    return first, first.year * 12 + first.month


def retention_sums(events: list[dict[str, Any]], spec: Any) -> dict[Any, list[float]]:
    """Per cohort: the sum of ``spec.property`` over its people's return events in each period
    from the cohort's own (period 0 from the range's start on), a person in several cohorts
    counting in each."""
    lo, hi = int(spec.date_from.timestamp() * 1000), int(spec.date_to.timestamp() * 1000)
    sums: dict[Any, list[float]] = defaultdict(lambda: [0.0] * (spec.periods + 1))
    for _, journey in journeys(events).items():
        starts = [r.timestamp_ms for r in journey if matches(spec.start, r)]
        returns = [
            (r.timestamp_ms, json.loads(r.properties).get(spec.property))
            for r in journey
            if matches(spec.returning, r) and r.timestamp_ms >= lo
        ]
        if spec.mode == "first_time":
            chosen = [starts[0]] if starts and lo <= starts[0] < hi else []
        else:
            chosen = [t for t in starts if lo <= t < hi]
        numbers = {period_key(t, spec.period) for t in chosen}  # a cohort once per period
        for day, number in numbers:
            sums[day]  # a cohort without returns sums to 0
            for t, value in returns:
                offset = period_key(t, spec.period)[1] - number
                if 0 <= offset <= spec.periods and isinstance(value, (int, float)):
                    sums[day][offset] += float(value)
    return dict(sums)


def retention(events: list[dict[str, Any]], spec: Any) -> list[tuple[Any, list[int]]]:
    lo, hi = int(spec.date_from.timestamp() * 1000), int(spec.date_to.timestamp() * 1000)
    cohorts: dict[Any, list[set[str]]] = defaultdict(
        lambda: [set() for _ in range(spec.periods + 1)]
    )
    for person_id, journey in journeys(events).items():
        starts = [r.timestamp_ms for r in journey if matches(spec.start, r)]
        returns = [r.timestamp_ms for r in journey if matches(spec.returning, r)]
        if spec.mode == "first_time":
            chosen = [starts[0]] if starts and lo <= starts[0] < hi else []
        else:
            chosen = [t for t in starts if lo <= t < hi]
        for t in chosen:
            day, number = period_key(t, spec.period)
            cohorts[day][0].add(person_id)
            for r in returns:
                offset = period_key(r, spec.period)[1] - number
                if 0 < offset <= spec.periods:
                    cohorts[day][offset].add(person_id)
    return sorted((day, [len(s) for s in sets]) for day, sets in cohorts.items())


def lifecycle(
    events: list[dict[str, Any]], step: Step, date_from: Any, date_to: Any, period: str
) -> dict[Any, dict[str, int]]:
    hi = int(date_to.timestamp() * 1000)
    lo_key = period_key(int(date_from.timestamp() * 1000), period)[1]
    hi_key = period_key(hi - 1, period)[1]
    out: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for journey in journeys(events).values():
        keys = sorted(
            {
                period_key(r.timestamp_ms, period)
                for r in journey
                if matches(step, r) and r.timestamp_ms < hi
            },
            key=lambda k: k[1],
        )
        numbers = {n for _, n in keys}
        for i, (_day, n) in enumerate(keys):
            if lo_key <= n <= hi_key:
                status = "new" if i == 0 else "returning" if n - 1 in numbers else "resurrecting"
                out[n][status] += 1
            if n + 1 not in numbers and lo_key <= n + 1 <= hi_key:
                out[n + 1]["dormant"] -= 1
    return out


def painpoint_evidence(
    events: Any, spec: Any, stage: int
) -> tuple[dict[str, int], dict[bool, tuple[int, int, int]]]:
    """For the segment's people at ``stage``: where those who dropped went next, and per
    converted: (people, with a loop, with an error event)."""
    funnel = spec.funnel
    people = funnel_people(events, replace(funnel, breakdown=Breakdown(spec.field)))
    lo = int(funnel.date_from.timestamp())
    hi = int((funnel.date_to + funnel.window).timestamp()) + 1
    window = int(funnel.window.total_seconds() * 1000)
    all_journeys = journeys(events)
    nexts: dict[str, int] = defaultdict(int)
    sides = {True: [0, 0, 0], False: [0, 0, 0]}
    for person_id, p in people.items():
        if p["level"] < stage or p["value"] != spec.value:
            continue
        journey = [r for r in all_journeys[person_id] if lo <= r.timestamp < hi]
        ids = [r.event_id for r in journey]
        at = ids.index(p["rows"][stage - 1].event_id)
        converted = p["level"] > stage
        stop = ids.index(p["rows"][stage].event_id) if converted else len(journey)
        end = p["times"][0] + window
        between = [r for r in journey[at + 1 : stop] if r.timestamp_ms <= end]
        moves = [
            e
            for e, _ in collapse(
                [(str(element(r, "all", ())), 0) for r in between if r.type in BEHAVIOUR]
            )
        ]
        loop = len(moves) != len(set(moves))
        error = any(re.search(spec.error_pattern, r.event) for r in between)
        side = sides[converted]
        side[0] += 1
        side[1] += loop
        side[2] += error
        if not converted:
            nexts[moves[0] if moves else "(no further events)"] += 1
    return dict(nexts), {k: (v[0], v[1], v[2]) for k, v in sides.items()}


def event_trend(events: list[dict[str, Any]], spec: Any) -> dict[tuple[str, bool], Any]:
    """(series value, previous period) -> (points per bucket, total), as analyzer.trends
    computes them, for hour and day intervals and breakdowns by a column, a property or a
    person trait."""
    df = persons(events)
    length = spec.date_to.timestamp() - spec.date_from.timestamp()
    size = {"hour": 3600, "day": 86400, "week": 7 * 86400}[spec.interval]
    n = int(-(-length // size))
    measured: dict[bool, list[tuple[int, str, str, float | None]]] = {False: [], True: []}
    by_trait = spec.breakdown is not None and spec.breakdown.field.startswith("person.")
    traits: dict[str, str] = {}  # a person's latest non-empty value before the period's end
    if by_trait:
        trait = spec.breakdown.field.split(".", 1)[1]
        for r in sorted(df.itertuples(), key=lambda r: (r.timestamp_ms, r.tie)):
            if r.type != "identify" or r.timestamp >= spec.date_to.timestamp():
                continue
            found = json.loads(r.traits).get(trait)
            if found is not None and str(found):
                traits[r.person_id] = str(found)
    for r in df.itertuples():
        if not matches(spec.event, r):
            continue
        for previous, start in (
            (False, spec.date_from.timestamp()),
            (True, spec.date_from.timestamp() - length),
        ):
            if start <= r.timestamp < start + length:
                price = json.loads(r.properties).get(spec.property) if spec.property else None
                value = breakdown_value(r, spec.breakdown) if spec.breakdown else ""
                if by_trait:
                    value = traits.get(r.person_id, "")
                number = float(price) if isinstance(price, (int, float)) else None
                measured[previous].append(
                    (int((r.timestamp - start) // size), value, r.person_id, number)
                )

    def measure(rows: list[tuple[int, str, str, float | None]]) -> float | None:
        numbers = [x for *_, x in rows if x is not None]
        if spec.measure == "events":
            return float(len(rows))
        if spec.measure == "people":
            return float(len({p for _, _, p, _ in rows}))
        if spec.measure == "sum":
            return float(sum(numbers))
        return sum(numbers) / len(numbers) if numbers else None

    top = None
    if spec.breakdown is not None:
        totals = {}
        for v in {v for _, v, _, _ in measured[False]}:
            totals[v] = measure([x for x in measured[False] if x[1] == v])
        top = sorted(totals, key=lambda v: (-(totals[v] or 0.0), v))[: spec.top]
    out: dict[tuple[str, bool], Any] = {}
    for previous, rows in measured.items():
        groups: dict[str, list[Any]] = {"(all)": rows}
        if top is not None:
            for row in rows:
                key = row[1] if row[1] in top else "(other)"
                groups.setdefault(key or "(none)", []).append(row)
        empty = None if spec.measure == "average" else 0.0
        for value, group in groups.items():
            points = []
            for b in range(n):
                in_bucket = [x for x in group if x[0] == b]
                points.append(measure(in_bucket) if in_bucket else empty)
            out[(value, previous)] = (points, measure(group) if group else empty)
    return out


def web_basics(
    events: list[dict[str, Any]], lo: int, hi: int, timeout_ms: int, top: int, cleaning: Any
) -> dict[str, Any]:
    """Everyone's web basics as analyzer.web computes them: the summary and the four lists,
    each list of (value, count, people), ranked by count then value."""
    n_sessions = bounces = views = 0
    people: set[str] = set()
    lengths = []
    counted: dict[str, dict[str, list[Any]]] = {
        k: {} for k in ("pages", "entry", "exit", "sources")
    }

    def add(kind: str, value: str, person: str) -> None:
        entry = counted[kind].setdefault(value, [0, set()])
        entry[0] += 1
        entry[1].add(person)

    for person, journey in journeys(events).items():
        rows = [r for r in journey if r.type in BEHAVIOUR and lo <= r.timestamp < hi]
        for s in sessions(rows, timeout_ms):
            people.add(person)
            n_sessions += 1
            bounces += len(s) == 1
            lengths.append(s[-1].timestamp_ms - s[0].timestamp_ms)
            pages = []
            for r in s:
                if r.type == "page":
                    page = r.page_path
                    for pattern, alias in cleaning:
                        page = re.sub(pattern, alias, page)
                    pages.append(page)
            views += len(pages)
            for page in pages:
                add("pages", page, person)
            if pages:
                add("entry", pages[0], person)
                add("exit", pages[-1], person)
            first = s[0]
            add(
                "sources",
                first.utm_source or getattr(first, "referrer_host", "") or "(direct)",
                person,
            )
    lists = {
        kind: sorted(((v, c, len(p)) for v, (c, p) in found.items()), key=lambda x: (-x[1], x[0]))[
            :top
        ]
        for kind, found in counted.items()
    }
    return {
        "people": len(people),
        "sessions": n_sessions,
        "bounce_rate": bounces / n_sessions if n_sessions else 0.0,
        "median_session_seconds": (quantile(lengths, 0.5) or 0.0) / 1000,
        "pages_per_session": views / n_sessions if n_sessions else 0.0,
        **lists,
    }


def correlation(
    events: list[dict[str, Any]], spec: Any
) -> tuple[int, int, dict[tuple[str, str], tuple[int, int]]]:
    """(converted, dropped, (field, value) -> (dropped with it, converted with it)) for the
    people at ``spec.step``: the events after the step and before the next (or to the end of
    the attempt's window), their names and the values of ``spec.fields``."""
    funnel = spec.funnel
    people = funnel_people(events, funnel)
    if spec.value is not None:  # the people of one breakdown value
        people = {p: v for p, v in people.items() if (v["value"] or "") == spec.value}
    traits = {  # a person's latest trait, as a breakdown by it reads it
        name: funnel_people(events, replace(funnel, breakdown=Breakdown(name)))
        for name in spec.fields
        if name.startswith("person.")
    }
    lo = int(funnel.date_from.timestamp())
    hi = int((funnel.date_to + funnel.window).timestamp()) + 1
    window = int(funnel.window.total_seconds() * 1000)
    all_journeys = journeys(events)
    k = spec.step
    converted = dropped = 0
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for person_id, p in people.items():
        if p["level"] < k:
            continue
        journey = [r for r in all_journeys[person_id] if lo <= r.timestamp < hi]
        ids = [r.event_id for r in journey]
        at = ids.index(p["rows"][k - 1].event_id)
        went_on = p["level"] > k
        stop = ids.index(p["rows"][k].event_id) if went_on else len(journey)
        until = p["times"][k] if went_on else p["times"][0] + window
        items: set[tuple[str, str]] = set()
        for r in journey[at + 1 : stop]:
            if r.type not in BEHAVIOUR or r.timestamp_ms > until:
                continue
            if r.event:
                items.add(("event", r.event))
            for name in spec.fields:
                value = "" if name in traits else value_of(r, name)
                if value:
                    items.add((name, value))
        for name, of_person in traits.items():
            if of_person[person_id]["value"]:
                items.add((name, of_person[person_id]["value"]))
        converted += went_on
        dropped += not went_on
        for item in items:
            counts[item][0 if not went_on else 1] += 1
    return converted, dropped, {i: (c[0], c[1]) for i, c in counts.items()}


def stickiness(events: list[dict[str, Any]], spec: Any) -> dict[str, Any]:
    """People, observations (a person in a period they were active in) and observations by
    days active, as analyzer.stickiness counts them."""
    from datetime import UTC, datetime

    df = persons(events)
    lo, hi = spec.date_from.timestamp(), spec.date_to.timestamp()

    def month(ts: float) -> int:
        at = datetime.fromtimestamp(ts, UTC)
        return at.year * 12 + at.month

    days: dict[tuple[str, int], set[int]] = defaultdict(set)
    for r in df.itertuples():
        if not (lo <= r.timestamp < hi) or not matches(spec.event, r):
            continue
        day = int((r.timestamp - lo) // 86400)
        period = {"week": day // 7, "month": month(r.timestamp) - month(lo), "range": 0}[spec.per]
        days[(r.person_id, period)].add(day)
    by_days: dict[int, int] = defaultdict(int)
    for active in days.values():
        by_days[len(active)] += 1
    return {
        "people": len({p for p, _ in days}),
        "observations": len(days),
        "days": dict(by_days),
    }

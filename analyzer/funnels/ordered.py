"""The ordered funnel: each step after the previous one (other events may come between), all
within the window from the first step. Per person, in ClickHouse SQL that old servers run too:

1. the person's step events, sorted by (time, event_id), with one 0/1 flag per step;
2. every step-1 event inside the date range is a candidate start; from each, the earliest next
   match of each following step (taking the earliest never hurts the steps after it);
3. the start reaching the furthest step wins, the earliest on ties; its step times give the
   time to convert.

An event counts for one step only: each step must come strictly after the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzer.funnels.spec import COLUMNS, Filter, FunnelSpec
from analyzer.identity import with_person
from storage.sql import identifier
from storage.store import Store

QUANTILES = (0.5, 0.9)


@dataclass(frozen=True)
class StepResult:
    step: int
    event: str
    people: int
    dropped: int
    conversion_from_start: float
    conversion_from_previous: float
    median_seconds_from_previous: float | None
    p90_seconds_from_previous: float | None


def _field_sql(f: Filter, name: str) -> str:
    if f.field in COLUMNS:
        return identifier(f.field)
    return f"visitParamExtractString(properties, %({name}_key)s)"


def _condition(spec: FunnelSpec, i: int, params: dict[str, Any]) -> str:
    step = spec.steps[i]
    params[f"s{i}"] = step.event
    parts = [f"event = %(s{i})s"]
    for j, f in enumerate(step.filters):
        name = f"s{i}f{j}"
        if f.field not in COLUMNS:
            params[f"{name}_key"] = f.field[len("properties.") :]
        params[name] = tuple(f.value) if f.op == "in" else f.value
        column = _field_sql(f, name)
        parts.append(
            {
                "eq": f"{column} = %({name})s",
                "neq": f"{column} != %({name})s",
                "in": f"{column} IN %({name})s",
                "match": f"match({column}, %({name})s)",
            }[f.op]
        )
    return " AND ".join(parts)


def person_query(spec: FunnelSpec, database: str) -> tuple[str, dict[str, Any]]:
    """One row per person who entered: level reached and each step's time (ms, 0 if not)."""
    n = len(spec.steps)
    params: dict[str, Any] = {
        "from_ms": int(spec.date_from.timestamp() * 1000),
        "to_ms": int(spec.date_to.timestamp() * 1000),
        "window_ms": int(spec.window.total_seconds() * 1000),
        "from_s": int(spec.date_from.timestamp()),
        "until_s": int((spec.date_to + spec.window).timestamp()) + 1,
    }
    conditions = [_condition(spec, i, params) for i in range(n)]
    columns = [
        "event",
        "timestamp_ms",
        "properties",
        *sorted({f.field for s in spec.steps for f in s.filters if f.field in COLUMNS} - {"event"}),
    ]
    src = with_person(
        database,
        columns,
        "timestamp >= toDateTime(%(from_s)s) AND timestamp < toDateTime(%(until_s)s)",
    )
    flags = ", ".join(f"({c}) AS c{i}" for i, c in enumerate(conditions))
    arrays = ", ".join(f"arrayMap(x -> tupleElement(x, {i + 3}), evs) AS a{i}" for i in range(n))
    steps = [
        "arrayMap(s -> arrayFirst(j -> j > s AND a1[j] = 1 AND times[j] <= times[s] + %(window_ms)s, idx), "
        "starts) AS p1"
    ]
    for k in range(2, n):
        steps.append(
            f"arrayMap((s, p) -> if(p = 0, 0, arrayFirst(j -> j > p AND a{k}[j] = 1 "
            f"AND times[j] <= times[s] + %(window_ms)s, idx)), starts, p{k - 1}) AS p{k}"
        )
    lambda_args = ", ".join(f"x{k}" for k in range(1, n))
    level = " + ".join(["1", *(f"(x{k} > 0)" for k in range(1, n))])  # p_k > 0 implies p_(k-1) > 0
    packed = ", ".join(f"p{k}" for k in range(1, n))
    times = ", ".join(f"if(p{k}[best] > 0, times[p{k}[best]], 0) AS t{k}" for k in range(1, n))
    sql = f"""
        SELECT person_id, level, times[starts[best]] AS t0, {times} FROM (
            SELECT person_id,
                arraySort(groupArray(({", ".join(["timestamp_ms", "event_id", *(f"c{i}" for i in range(n))])}))) AS evs,
                arrayMap(x -> tupleElement(x, 1), evs) AS times,
                {arrays},
                arrayEnumerate(times) AS idx,
                arrayFilter(i -> a0[i] = 1 AND times[i] >= %(from_ms)s AND times[i] < %(to_ms)s, idx) AS starts,
                {", ".join(steps)},
                arrayMap(({lambda_args}) -> {level}, {packed}) AS levels,
                arrayReduce('max', levels) AS level,
                arrayFirstIndex(l -> l = level, levels) AS best
            FROM (SELECT person_id, timestamp_ms, event_id, {flags} FROM {src}
                  WHERE {" OR ".join(f"({c})" for c in conditions)})
            GROUP BY person_id
            HAVING length(starts) > 0
        )"""
    return sql, params


def run(store: Store, spec: FunnelSpec) -> list[StepResult]:
    """The funnel's steps with people, drop-off, conversion and time to convert."""
    spec.validate()
    n = len(spec.steps)
    people_sql, params = person_query(spec, store.database)
    reached = ", ".join(f"countIf(level >= {k + 1})" for k in range(n))
    quantiles = ", ".join(
        f"quantilesExactIf(0.5, 0.9)(t{k} - {'t0' if k == 1 else f't{k - 1}'}, level >= {k + 1})"
        for k in range(1, n)
    )
    row = store.execute(f"SELECT {reached}, {quantiles} FROM ({people_sql})", params)[0]
    counts = [int(v) for v in row[:n]]
    results = []
    for k in range(n):
        q = list(row[n + k - 1]) if k else []
        results.append(
            StepResult(
                step=k + 1,
                event=spec.steps[k].event,
                people=counts[k],
                dropped=counts[k] - (counts[k + 1] if k + 1 < n else counts[k]),
                conversion_from_start=counts[k] / counts[0] if counts[0] else 0.0,
                conversion_from_previous=counts[k] / counts[k - 1]
                if k and counts[k - 1]
                else (1.0 if not k else 0.0),
                median_seconds_from_previous=q[0] / 1000 if q and counts[k] else None,
                p90_seconds_from_previous=q[1] / 1000 if q and counts[k] else None,
            )
        )
    return results

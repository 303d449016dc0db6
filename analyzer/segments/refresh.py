"""Refresh: compute the membership of segments for the whole customer base, in ClickHouse.

One refresh has one id (its moment in ms) and writes, into ``segment_members``:

* the base: every person with an event before the moment, under segment '';
* rule segments: all of them in one pass over the events (one boolean per segment per person);
* RFM: values per purchaser (``rfm_values``), quintile thresholds, then one named group each
  (segment ``<name>/<group>``);
* clusters: a model fitted on a sample, then a cluster per person (``<name>/cluster-<n>``);
* propensity: a model fitted on the past, scores for everyone (``propensity_scores``), members
  above the threshold or in the top share.

A summary row per segment goes to ``segment_refreshes`` (members, base, time taken, and what
the refresh found: thresholds, the model and its quality).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from analyzer.events import BEHAVIOUR
from analyzer.segments import rfm
from analyzer.segments.catalog import Stored, stored
from analyzer.segments.definition import DefinitionError
from analyzer.segments.features import Features
from analyzer.segments.predicted import (
    MODEL_FEATURES,
    ModelError,
    fit_clusters,
    fit_propensity,
)
from analyzer.segments.rules import compile_rule
from storage.sql import identifier
from storage.store import Store

SAMPLE_BUCKETS = 10_000


@dataclass
class Refreshed:
    segment: str
    version: int
    kind: str
    members: dict[str, int]  # segment (or its groups) -> people
    base: int
    took_ms: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RefreshReport:
    refresh: int  # ms
    at: datetime
    base: int
    segments: list[Refreshed]
    errors: dict[str, str] = field(default_factory=dict)  # segment -> why it did not refresh

    def as_dict(self) -> dict[str, Any]:
        return {
            "refresh": self.refresh,
            "at": self.at.isoformat(),
            "base": self.base,
            "segments": [vars(s) for s in self.segments],
            "errors": self.errors,
        }


def _refresh_id(store: Store, at: datetime) -> int:
    """The refresh's id: its moment in ms, after every earlier refresh."""
    db = identifier(store.database)
    (last,) = store.execute(f"SELECT max(refresh) FROM {db}.segment_refreshes")[0]
    return max(int(at.timestamp() * 1000), int(last or 0) + 1)


def due(store: Store, now: datetime | None = None) -> list[str]:
    """Segments with a ``refresh`` schedule whose last refresh is that long ago (or never)."""
    now = now or datetime.now(UTC)
    db = identifier(store.database)
    last = dict(
        store.execute(f"SELECT segment, max(refresh) FROM {db}.segment_refreshes GROUP BY segment")
    )
    out = []
    for name, s in stored(store).items():
        every = s.definition.refresh
        if every is None:
            continue
        previous = last.get(name)
        if previous is None or now - datetime.fromtimestamp(previous / 1000, UTC) >= every:
            out.append(name)
    return out


def refresh(
    store: Store, names: Sequence[str] | None = None, at: datetime | None = None
) -> RefreshReport:
    """Refresh the named segments (all defined ones by default) as of ``at`` (now)."""
    defined = stored(store)
    if names:
        missing = [n for n in names if n not in defined]
        if missing:
            raise DefinitionError(f"name: no segment {missing[0]!r} is defined")
        chosen = [defined[n] for n in dict.fromkeys(names)]
    else:
        chosen = list(defined.values())
    at = (at or datetime.now(UTC)).astimezone(UTC)
    refresh_id = _refresh_id(store, at)
    db = identifier(store.database)
    started = time.perf_counter()
    groups: dict[tuple[str, str], list[Stored]] = {}
    for s in chosen:
        if s.definition.kind == "rule":
            key = (s.definition.purchase_event, s.definition.revenue_property)
            groups.setdefault(key, []).append(s)
    ruled: list[Refreshed] = []
    if groups:  # the base comes with the first rule pass: every person it reads
        for i, group in enumerate(groups.values()):
            ruled += _rules(store, group, refresh_id, at, with_base=i == 0)
    else:
        base_features = Features(store.database, at)
        store.execute(
            f"INSERT INTO {db}.segment_members (refresh, segment, person_id) "
            f"SELECT toUInt64(%(refresh)s), '', person_id FROM {base_features.sql({})}",
            {**base_features.params, "refresh": refresh_id},
        )
    (base,) = store.execute(
        f"SELECT count() FROM {db}.segment_members WHERE refresh = %(r)s AND segment = ''",
        {"r": refresh_id},
    )[0]
    base_ms = int((time.perf_counter() - started) * 1000)
    report = RefreshReport(refresh_id, at, int(base), [])
    for r in ruled:
        r.base = int(base)
    report.segments += ruled
    for s in chosen:
        kind = s.definition.kind
        if kind == "rule":
            continue
        try:
            if kind == "rfm":
                report.segments.append(_rfm(store, s, refresh_id, at, int(base)))
            elif kind == "clusters":
                report.segments.append(_clusters(store, s, refresh_id, at, int(base)))
            else:
                report.segments.append(_propensity(store, s, refresh_id, at, int(base)))
        except ModelError as exc:
            report.errors[s.definition.name] = str(exc)
    for r in report.segments:
        r.details["base_ms"] = base_ms
    store.insert(
        "segment_refreshes",
        ("refresh", "segment", "version", "kind", "members", "base", "took_ms", "details"),
        [
            (
                refresh_id,
                r.segment,
                r.version,
                r.kind,
                sum(r.members.values()),
                r.base,
                r.took_ms,
                json.dumps({"members": r.members, **r.details}, default=str),
            )
            for r in report.segments
        ],
    )
    return report


def _counts(store: Store, refresh_id: int, prefix: str) -> dict[str, int]:
    db = identifier(store.database)
    rows = store.execute(
        f"SELECT segment, count() FROM {db}.segment_members WHERE refresh = %(r)s "
        "AND (segment = %(p)s OR startsWith(segment, %(g)s)) GROUP BY segment ORDER BY segment",
        {"r": refresh_id, "p": prefix, "g": prefix + "/"},
    )
    return {str(s): int(n) for s, n in rows}


def _rules(
    store: Store, group: list[Stored], refresh_id: int, at: datetime, with_base: bool
) -> list[Refreshed]:
    started = time.perf_counter()
    first = group[0].definition
    f = Features(store.database, at, first.purchase_event, first.revenue_property)
    conditions = {f"c{i}": compile_rule(s.definition.rule, f) for i, s in enumerate(group)}  # type: ignore[arg-type]
    names = [s.definition.name for s in group]
    flags = ", ".join(f"toUInt8({c})" for c in conditions)
    head, tail = ("arrayConcat([''], ", ")") if with_base else ("", "")
    db = identifier(store.database)
    store.execute(
        f"INSERT INTO {db}.segment_members (refresh, segment, person_id) "
        f"SELECT toUInt64(%(refresh)s), segment, person_id FROM (SELECT person_id, "
        f"arrayJoin({head}arrayFilter((n, c) -> c = 1, %(names)s, [{flags}]){tail}) AS segment "
        f"FROM {f.sql(conditions)})",
        {**f.params, "refresh": refresh_id, "names": names},
    )
    took = int((time.perf_counter() - started) * 1000)
    out = []
    for s in group:
        counts = _counts(store, refresh_id, s.definition.name)
        out.append(
            Refreshed(
                s.definition.name,
                s.version,
                "rule",
                {s.definition.name: counts.get(s.definition.name, 0)},
                0,  # set once the base is counted
                took,
                {"computed_with": names} if len(names) > 1 else {},
            )
        )
    return out


def _rfm(store: Store, s: Stored, refresh_id: int, at: datetime, base: int) -> Refreshed:
    started = time.perf_counter()
    d = s.definition
    f = Features(store.database, at, d.purchase_event, d.revenue_property)
    purchases = f.attribute("purchases")
    last = f.aggregate("max", "toUInt32(timestamp)", f.purchase_condition())
    select = {
        "recency_days": f"toUInt32(intDiv(%(as_of_s)s - {last}, 86400))",
        "frequency": purchases,
        "monetary": f.revenue(),
    }
    db = identifier(store.database)
    store.execute(
        f"INSERT INTO {db}.rfm_values (refresh, segment, person_id, recency_days, frequency, "
        f"monetary) SELECT toUInt64(%(refresh)s), %(segment)s, person_id, recency_days, "
        f"frequency, monetary FROM {f.sql(select, where=f'{purchases} > 0')}",
        {**f.params, "refresh": refresh_id, "segment": d.name},
    )
    steps = {}
    for column, better in (("recency_days", False), ("frequency", True), ("monetary", True)):
        values = store.execute(
            f"SELECT {column}, count() FROM {db}.rfm_values WHERE refresh = %(r)s "
            f"AND segment = %(s)s GROUP BY {column}",
            {"r": refresh_id, "s": d.name},
        )
        steps[column] = rfm.thresholds([(float(v), int(c)) for v, c in values], better)
    store.execute(
        f"INSERT INTO {db}.segment_members (refresh, segment, person_id) "
        f"SELECT refresh, concat(segment, '/', {rfm_group_sql(steps)}), person_id "
        f"FROM {db}.rfm_values WHERE refresh = %(r)s AND segment = %(s)s",
        {"r": refresh_id, "s": d.name},
    )
    return Refreshed(
        d.name,
        s.version,
        "rfm",
        _counts(store, refresh_id, d.name),
        base,
        int((time.perf_counter() - started) * 1000),
        {"thresholds": steps, "purchase_event": d.purchase_event},
    )


def scores_sql(steps: dict[str, list[float]]) -> tuple[str, str, str]:
    """SQL for the R, F and M scores over ``rfm_values`` columns, given the thresholds."""
    return (
        rfm.score_sql("recency_days", steps["recency_days"], higher_is_better=False),
        rfm.score_sql("frequency", steps["frequency"], higher_is_better=True),
        rfm.score_sql("monetary", steps["monetary"], higher_is_better=True),
    )


def rfm_group_sql(steps: dict[str, list[float]]) -> str:
    r, f, m = scores_sql(steps)
    return rfm.group_sql(r, f"intDiv({f} + {m} + 1, 2)")


def _model_columns(f: Features) -> dict[str, str]:
    return {name: f.attribute(name) for name in MODEL_FEATURES}


def _sample_where(fraction: float) -> str:
    buckets = max(1, min(SAMPLE_BUCKETS, int(SAMPLE_BUCKETS * fraction + 0.5)))
    return f"modulo(cityHash64(person_id), {SAMPLE_BUCKETS}) < {buckets}"


def _clusters(store: Store, s: Stored, refresh_id: int, at: datetime, base: int) -> Refreshed:
    started = time.perf_counter()
    d = s.definition
    opts = d.clusters
    assert opts is not None
    f = Features(store.database, at, d.purchase_event, d.revenue_property)
    columns = _model_columns(f)
    sample = store.query_df(
        f"SELECT * FROM {f.sql(columns)} WHERE {_sample_where(opts.sample / max(base, 1))} "
        "ORDER BY person_id",
        f.params,
    )
    model = fit_clusters(sample, opts.method, opts.k_min, opts.k_max, opts.seed)
    db = identifier(store.database)
    store.execute(
        f"INSERT INTO {db}.segment_members (refresh, segment, person_id) "
        f"SELECT toUInt64(%(refresh)s), concat(%(segment)s, '/cluster-', toString(c)), "
        f"person_id FROM {f.sql({'c': model.sql(columns)})}",
        {**f.params, "refresh": refresh_id, "segment": d.name},
    )
    return Refreshed(
        d.name,
        s.version,
        "clusters",
        _counts(store, refresh_id, d.name),
        base,
        int((time.perf_counter() - started) * 1000),
        {"sample": len(sample), **model.details()},
    )


def _propensity(store: Store, s: Stored, refresh_id: int, at: datetime, base: int) -> Refreshed:
    started = time.perf_counter()
    d = s.definition
    opts = d.propensity
    assert opts is not None
    cutoff = at - timedelta(days=opts.horizon_days)
    past = Features(store.database, cutoff, d.purchase_event, d.revenue_property, read_until=at)
    columns = _model_columns(past)
    after = "timestamp >= toDateTime(%(as_of_s)s)"
    if opts.target == "purchase":
        outcome = past.count(f"{past.purchase_condition()} AND {after}", beyond=True)
        population = "1"
    else:  # churn: among people active in the 30 days before the cutoff
        outcome = past.count(f"{BEHAVIOUR} AND {after}", beyond=True)
        population = f"{columns['last_seen_days']} < 30"
    labelled = past.sql(
        {**columns, "outcome": f"toUInt8({outcome} > 0)"},
        where=f"{columns['first_seen_days']} >= 0 AND {population}",
    )
    frame = store.query_df(
        f"SELECT * FROM {labelled} WHERE {_sample_where(opts.sample / max(base, 1))} "
        "ORDER BY person_id",
        past.params,
    )
    labels = frame["outcome"].astype(int).to_numpy()
    if opts.target == "churn":
        labels = 1 - labels
    model = fit_propensity(frame, np.asarray(labels), opts.target, opts.seed)
    now = Features(store.database, at, d.purchase_event, d.revenue_property)
    score = model.sql(_model_columns(now))
    db = identifier(store.database)
    store.execute(
        f"INSERT INTO {db}.propensity_scores (refresh, segment, person_id, score) "
        f"SELECT toUInt64(%(refresh)s), %(segment)s, person_id, p FROM {now.sql({'p': score})}",
        {**now.params, "refresh": refresh_id, "segment": d.name},
    )
    if opts.top_share is not None:
        (threshold,) = store.execute(
            f"SELECT quantileExact(%(q)s)(score) FROM {db}.propensity_scores "
            "WHERE refresh = %(r)s AND segment = %(s)s",
            {"q": 1 - opts.top_share, "r": refresh_id, "s": d.name},
        )[0]
        threshold = float(threshold)
    else:
        threshold = float(opts.threshold or 0.5)
    store.execute(
        f"INSERT INTO {db}.segment_members (refresh, segment, person_id) "
        f"SELECT refresh, segment, person_id FROM {db}.propensity_scores "
        "WHERE refresh = %(r)s AND segment = %(s)s AND score >= %(t)s",
        {"r": refresh_id, "s": d.name, "t": threshold},
    )
    return Refreshed(
        d.name,
        s.version,
        "propensity",
        _counts(store, refresh_id, d.name),
        base,
        int((time.perf_counter() - started) * 1000),
        {"threshold": round(threshold, 6), "horizon_days": opts.horizon_days, **model.details()},
    )

"""Refresh: compute the membership of segments for the whole customer base, in ClickHouse.

One refresh has one id (its moment in ms). One pass over the events (``Snapshot``) computes
what every segment needs per person into a snapshot table; then, into ``segment_members``:

* the base: every person with an event before the moment, under segment '';
* rule segments: one flag per segment per person, from the snapshot;
* RFM: values per purchaser (``rfm_values``), quintile thresholds, then one named group each
  (segment ``<name>/<group>``);
* clusters: a model fitted on a sample of the snapshot, then a cluster per person
  (``<name>/cluster-<n>``);
* propensity: a model fitted on the features as of ``horizon_days`` ago and what happened since
  (both in the snapshot), scores for everyone (``propensity_scores``), members above the
  threshold or in the top share.

A summary row per segment goes to ``segment_refreshes`` (members, base, time taken, and what
the refresh found: thresholds, the model and its quality).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from analyzer import touchpoints
from analyzer.documents import pick
from analyzer.errors import SpecError
from analyzer.events import BEHAVIOUR
from analyzer.segments import public, rfm
from analyzer.segments.catalog import Stored, catalog, stored
from analyzer.segments.features import Features
from analyzer.segments.predicted import (
    MODEL_FEATURES,
    ModelError,
    fit_clusters,
    fit_propensity,
)
from analyzer.segments.rules import compile_rule
from core import metrics
from core.progress import Report, silent
from storage.sql import identifier
from storage.store import Store, StoreUnavailable

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
    published: int = 0  # visitors with a public segment, after this refresh

    def as_dict(self) -> dict[str, Any]:
        return {
            "refresh": self.refresh,
            "at": self.at.isoformat(),
            "base": self.base,
            "segments": [vars(s) for s in self.segments],
            "errors": self.errors,
            "published": self.published,
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
    store: Store,
    names: Sequence[str] | None = None,
    at: datetime | None = None,
    progress: Report = silent,
) -> RefreshReport:
    """Refresh the named segments (all defined ones by default) as of ``at`` (now), telling
    ``progress`` each stage."""
    progress("reading the definitions")
    defined, unusable = catalog(store)
    broken = {n: why for n, why in unusable.items() if not names or n in names}
    wanted = [n for n in names or () if n not in unusable]
    chosen = []
    for s in pick(defined, wanted, "segment") if wanted or not names else []:
        try:  # steps naming touchpoint sets (``did: set:NAME``) read the sets' latest versions
            chosen.append(replace(s, definition=touchpoints.resolve(store, s.definition)))
        except SpecError as exc:
            broken[s.definition.name] = str(exc)
    at = (at or datetime.now(UTC)).astimezone(UTC)
    refresh_id = _refresh_id(store, at)
    _drop_stale_snapshots(store, refresh_id)
    # One pass over the events per purchase event, revenue property and whether bots count
    # (usually one in all): the base, every rule, RFM values and the models' features now and
    # back then. The base is the first pass's: without bots, unless every segment wants them.
    passes: dict[tuple[bool, str, str], list[Stored]] = {}
    for s in chosen:
        d = s.definition
        passes.setdefault((d.include_bots, d.purchase_event, d.revenue_property), []).append(s)
    if not passes:
        passes[(False, "Order Completed", "revenue")] = []
    report = RefreshReport(refresh_id, at, 0, [], errors=broken)
    number, with_base = 0, False
    for key in sorted(passes):
        pending = [passes[key]]
        while pending:
            group = pending.pop(0)
            snapshot = Snapshot(store, group, refresh_id, at, number)
            number += 1
            what = ", ".join(s.definition.name for s in group) or "the base"
            try:
                progress(f"pass {number}: one pass over the events for {what}")
                if not _built(snapshot, group, pending, report):
                    continue
                if not with_base:
                    progress("writing the base (everyone the segments are shares of)")
                    report.base, with_base = snapshot.write_base(), True
                progress(f"pass {number}: writing the members of {what}")
                _write(snapshot, group, report)
            finally:
                snapshot.drop()
    counted = metrics.segments()
    for r in report.segments:
        r.base = report.base
        counted.refresh_seconds.labels(r.segment).observe(r.took_ms / 1000)
        for name, members in r.members.items():
            counted.members.labels(name).set(members)
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
    # The website's view (collector.personalize) follows every refresh.
    progress("publishing the public segments")
    report.published = public.publish(store, refresh_id)
    return report


def _built(
    snapshot: Snapshot, group: list[Stored], pending: list[list[Stored]], report: RefreshReport
) -> bool:
    """Build a pass's snapshot; False when the server cannot run one of its definitions. One
    bad definition never stops the others: each of the pass's definitions then gets a pass of
    its own (put first in ``pending``), and one that fails alone is reported with the server's
    reason."""
    try:
        snapshot.build()
        return True
    except StoreUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - a definition ClickHouse cannot run
        if len(group) > 1:
            pending[:0] = [[s] for s in group]
        elif group:
            report.errors[group[0].definition.name] = _reason(exc)
        else:
            raise
        return False


def _write(snapshot: Snapshot, group: list[Stored], report: RefreshReport) -> None:
    """The pass's rule segments, then each RFM, cluster and propensity segment of it."""
    report.segments += snapshot.write_rules()
    for s in group:
        kind = s.definition.kind
        try:
            if kind == "rfm":
                report.segments.append(snapshot.write_rfm(s))
            elif kind == "clusters":
                report.segments.append(snapshot.write_clusters(s))
            elif kind == "propensity":
                report.segments.append(snapshot.write_propensity(s))
        except ModelError as exc:
            report.errors[s.definition.name] = str(exc)


def _reason(exc: Exception) -> str:
    """The first line of a server's error, for a refresh report."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return lines[0][:500]


SNAPSHOT_PREFIX = "segment_snapshot_"
STALE_MS = 6 * 3600 * 1000


def _drop_stale_snapshots(store: Store, refresh_id: int) -> None:
    """Snapshot tables left by a refresh that died (a crash, a kill) hours ago."""
    rows = store.execute(
        "SELECT name FROM system.tables WHERE database = %(db)s AND startsWith(name, %(p)s)",
        {"db": store.database, "p": SNAPSHOT_PREFIX},
    )
    for (name,) in rows:
        stamp = str(name)[len(SNAPSHOT_PREFIX) :].split("_")[0]
        if stamp.isdigit() and int(stamp) < refresh_id - STALE_MS:
            store.execute(f"DROP TABLE IF EXISTS {identifier(store.database)}.{identifier(name)}")


def _counts(store: Store, refresh_id: int, prefix: str) -> dict[str, int]:
    db = identifier(store.database)
    rows = store.execute(
        f"SELECT segment, count() FROM {db}.segment_members WHERE refresh = %(r)s "
        "AND (segment = %(p)s OR startsWith(segment, %(g)s)) GROUP BY segment ORDER BY segment",
        {"r": refresh_id, "p": prefix, "g": prefix + "/"},
    )
    return {str(s): int(n) for s, n in rows}


class Snapshot:
    """Every person's features for a refresh, from one pass over the events, in a table.

    Its columns: ``person_id``; ``r<i>`` a 0/1 flag per rule segment; ``rfm_*`` (recency
    days, purchases, revenue); ``m_<feature>`` the model features now; ``p<j>_<feature>`` and
    ``p<j>_outcome`` the features of propensity model j as of its horizon ago and whether the
    outcome happened since. Segments are then written from the table, which is small next to
    the events, and the table is dropped when the refresh ends."""

    def __init__(
        self, store: Store, group: list[Stored], refresh_id: int, at: datetime, number: int
    ) -> None:
        self.store = store
        self.refresh_id = refresh_id
        self.db = identifier(store.database)
        self.table = f"{self.db}.{identifier(f'{SNAPSHOT_PREFIX}{refresh_id}_{number}')}"
        first = group[0].definition if group else None
        self.features = f = Features(
            store.database,
            at,
            first.purchase_event if first else "Order Completed",
            first.revenue_property if first else "revenue",
            first.include_bots if first else False,
        )
        self.rules = [s for s in group if s.definition.kind == "rule"]
        select: dict[str, str] = {
            f"r{i}": f"toUInt8({compile_rule(s.definition.rule, f)})"  # type: ignore[arg-type]
            for i, s in enumerate(self.rules)
        }
        kinds = {s.definition.kind for s in group}
        if "rfm" in kinds:
            last = f.aggregate("max", "toUInt32(timestamp)", f.purchase_condition())
            select["rfm_recency_days"] = f"toUInt32(intDiv(%(as_of_s)s - {last}, 86400))"
            select["rfm_frequency"] = f.attribute("purchases")
            select["rfm_monetary"] = f.revenue()
        if kinds & {"clusters", "propensity"}:
            select.update({f"m_{n}": f.attribute(n) for n in MODEL_FEATURES})
        self.propensity: dict[str, int] = {}
        for s in group:
            opts = s.definition.propensity
            if opts is None:
                continue
            j = self.propensity[s.definition.name] = len(self.propensity)
            past = f.at(at - timedelta(days=opts.horizon_days))
            select.update({f"p{j}_{n}": past.attribute(n) for n in MODEL_FEATURES})
            since = past.bind(int(past.as_of.timestamp()))
            what = past.purchase_condition() if opts.target == "purchase" else BEHAVIOUR
            happened = past.count(f"{what} AND timestamp >= toDateTime({since})", beyond=True)
            select[f"p{j}_outcome"] = f"toUInt8({happened} > 0)"
        self.select = select
        self.took_ms = 0
        self.people = 0  # rows of the snapshot: the base

    def build(self) -> None:
        started = time.perf_counter()
        self.store.execute(
            f"CREATE TABLE {self.table} ENGINE = MergeTree ORDER BY person_id "
            f"AS SELECT * FROM {self.features.sql(self.select)}",
            self.features.query.values,
        )
        (people,) = self.store.execute(f"SELECT count() FROM {self.table}")[0]
        self.people = int(people)
        self.took_ms = _ms(started)

    def drop(self) -> None:
        self.store.execute(f"DROP TABLE IF EXISTS {self.table}")

    def write_base(self) -> int:
        self.store.execute(
            f"INSERT INTO {self.db}.segment_members (refresh, segment, person_id) "
            f"SELECT toUInt64(%(refresh)s), '', person_id FROM {self.table}",
            {"refresh": self.refresh_id},
        )
        return self.people

    def _done(
        self,
        s: Stored,
        kind: str,
        started: float,
        details: dict[str, Any],
        members: dict[str, int] | None = None,
    ) -> Refreshed:
        name = s.definition.name
        took = _ms(started)
        return Refreshed(
            name,
            s.version,
            kind,
            _counts(self.store, self.refresh_id, name) if members is None else members,
            0,  # set once the base is counted
            self.took_ms + took,
            {"pass_ms": self.took_ms, "own_ms": took, **details},
        )

    def write_rules(self) -> list[Refreshed]:
        if not self.rules:
            return []
        started = time.perf_counter()
        names = [s.definition.name for s in self.rules]
        flags = ", ".join(f"r{i}" for i in range(len(self.rules)))
        self.store.execute(
            f"INSERT INTO {self.db}.segment_members (refresh, segment, person_id) "
            f"SELECT toUInt64(%(refresh)s), segment, person_id FROM (SELECT person_id, "
            f"arrayJoin(arrayFilter((n, c) -> c = 1, %(names)s, [{flags}])) AS segment "
            f"FROM {self.table})",
            {"refresh": self.refresh_id, "names": names},
        )
        sizes = self.store.execute(
            f"SELECT {', '.join(f'sum(r{i})' for i in range(len(names)))} FROM {self.table}"
        )[0]
        return [
            self._done(s, "rule", started, {}, {name: int(n)})
            for s, name, n in zip(self.rules, names, sizes, strict=True)
        ]

    def write_rfm(self, s: Stored) -> Refreshed:
        started = time.perf_counter()
        d = s.definition
        self.store.execute(
            f"INSERT INTO {self.db}.rfm_values (refresh, segment, person_id, recency_days, "
            "frequency, monetary) SELECT toUInt64(%(refresh)s), %(segment)s, person_id, "
            f"rfm_recency_days, rfm_frequency, rfm_monetary FROM {self.table} "
            "WHERE rfm_frequency > 0",
            {"refresh": self.refresh_id, "segment": d.name},
        )
        steps = {}
        for column, better in (("recency_days", False), ("frequency", True), ("monetary", True)):
            values = self.store.execute(
                f"SELECT {column}, count() FROM {self.db}.rfm_values WHERE refresh = %(r)s "
                f"AND segment = %(s)s GROUP BY {column}",
                {"r": self.refresh_id, "s": d.name},
            )
            steps[column] = rfm.thresholds([(float(v), int(c)) for v, c in values], better)
        self.store.execute(
            f"INSERT INTO {self.db}.segment_members (refresh, segment, person_id) "
            f"SELECT refresh, concat(segment, '/', {rfm_group_sql(steps)}), person_id "
            f"FROM {self.db}.rfm_values WHERE refresh = %(r)s AND segment = %(s)s",
            {"r": self.refresh_id, "s": d.name},
        )
        details = {"thresholds": steps, "purchase_event": d.purchase_event}
        return self._done(s, "rfm", started, details)

    def _sample(self, columns: dict[str, str], share: float, where: str = "1") -> pd.DataFrame:
        picked = ", ".join(f"{sql} AS {identifier(name)}" for name, sql in columns.items())
        return self.store.query_df(
            f"SELECT person_id, {picked} FROM {self.table} "
            f"WHERE {_sample_where(share)} AND {where} ORDER BY person_id"
        )

    def write_clusters(self, s: Stored) -> Refreshed:
        started = time.perf_counter()
        d = s.definition
        opts = d.clusters
        assert opts is not None
        columns = {n: f"m_{n}" for n in MODEL_FEATURES}
        sample = self._sample(columns, opts.sample / max(self.people, 1))
        model = fit_clusters(sample, opts.method, opts.k_min, opts.k_max, opts.seed)
        self.store.execute(
            f"INSERT INTO {self.db}.segment_members (refresh, segment, person_id) "
            f"SELECT toUInt64(%(refresh)s), concat(%(segment)s, '/cluster-', "
            f"toString({model.sql(columns)})), person_id FROM {self.table}",
            {"refresh": self.refresh_id, "segment": d.name},
        )
        return self._done(s, "clusters", started, {"sample": len(sample), **model.details()})

    def write_propensity(self, s: Stored) -> Refreshed:
        started = time.perf_counter()
        d = s.definition
        opts = d.propensity
        assert opts is not None
        j = self.propensity[d.name]
        past = {n: f"p{j}_{n}" for n in MODEL_FEATURES}
        # training rows: people seen before the horizon (churn: active in its last 30 days)
        population = f"{past['first_seen_days']} >= 0"
        if opts.target == "churn":
            population += f" AND {past['last_seen_days']} < 30"
        frame = self._sample(
            {**past, "outcome": f"p{j}_outcome"}, opts.sample / max(self.people, 1), population
        )
        labels = frame["outcome"].astype(int).to_numpy()
        if opts.target == "churn":
            labels = 1 - labels
        model = fit_propensity(frame, np.asarray(labels), opts.target, opts.seed)
        score = model.sql({n: f"m_{n}" for n in MODEL_FEATURES})
        self.store.execute(
            f"INSERT INTO {self.db}.propensity_scores (refresh, segment, person_id, score) "
            f"SELECT toUInt64(%(refresh)s), %(segment)s, person_id, {score} FROM {self.table}",
            {"refresh": self.refresh_id, "segment": d.name},
        )
        if opts.top_share is not None:
            (threshold,) = self.store.execute(
                f"SELECT quantileExact(%(q)s)(score) FROM {self.db}.propensity_scores "
                "WHERE refresh = %(r)s AND segment = %(s)s",
                {"q": 1 - opts.top_share, "r": self.refresh_id, "s": d.name},
            )[0]
            threshold = float(threshold)
        else:
            threshold = float(opts.threshold or 0.5)
        self.store.execute(
            f"INSERT INTO {self.db}.segment_members (refresh, segment, person_id) "
            f"SELECT refresh, segment, person_id FROM {self.db}.propensity_scores "
            "WHERE refresh = %(r)s AND segment = %(s)s AND score >= %(t)s",
            {"r": self.refresh_id, "s": d.name, "t": threshold},
        )
        details = {
            "threshold": round(threshold, 6),
            "horizon_days": opts.horizon_days,
            **model.details(),
        }
        return self._done(s, "propensity", started, details)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


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


def _sample_where(fraction: float) -> str:
    buckets = max(1, min(SAMPLE_BUCKETS, int(SAMPLE_BUCKETS * fraction + 0.5)))
    return f"modulo(cityHash64(person_id), {SAMPLE_BUCKETS}) < {buckets}"

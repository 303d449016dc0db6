"""What a segment is worth: size over time, movement between refreshes, and quality.

Quality follows the criteria that make a segment usable:

* measurable: it has members, and its size is known at every refresh;
* reachable: the share of members who are identified (have a user id) and contactable (an
  ``email`` or ``phone`` trait);
* substantial: at least ``MIN_MEMBERS`` people and ``MIN_SHARE`` of the base;
* distinct: members against everyone else in purchase conversion (difference, Cohen's h and a
  two-proportion z-test) and in events and revenue per person (Cohen's d);
* stable: how much of the membership stays from one refresh to the next (Jaccard similarity)
  and how much the size moves.

RFM segments also get their value figures per group: customers, revenue and its share,
revenue and orders per customer, days since the last purchase.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from analyzer import statistics
from analyzer.segments.catalog import stored
from analyzer.segments.definition import DefinitionError
from analyzer.segments.features import Features
from analyzer.segments.refresh import rfm_group_sql, scores_sql
from storage.sql import identifier
from storage.store import Store

MIN_MEMBERS = 100
MIN_SHARE = 0.01
STABLE_JACCARD = 0.7
NOTABLE_EFFECT = 0.2  # Cohen's h or d: 0.2 small, 0.5 medium, 0.8 large


@dataclass(frozen=True)
class SizePoint:
    refresh: int
    at: str
    version: int
    members: int
    base: int
    share: float


@dataclass(frozen=True)
class Movement:
    from_segment: str  # '' outside the family, '(not in base)' not yet seen
    to_segment: str
    people: int


@dataclass(frozen=True)
class Criterion:
    name: str
    passed: bool
    evidence: dict[str, Any]


@dataclass
class SegmentReport:
    segment: str
    kind: str
    category: str
    description: str
    version: int
    groups: list[str]  # the segments it writes: itself, or its RFM groups / clusters
    sizes: dict[str, list[SizePoint]] = field(default_factory=dict)
    movement: list[Movement] = field(default_factory=list)
    quality: dict[str, list[Criterion]] = field(default_factory=dict)
    value: list[dict[str, Any]] = field(default_factory=list)  # RFM groups
    details: dict[str, Any] = field(default_factory=dict)  # of the latest refresh

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _db(store: Store) -> str:
    return identifier(store.database)


def refreshes(store: Store, name: str) -> list[tuple[int, int, int, str]]:
    """(refresh, version, base, details) of every refresh of ``name``, oldest first."""
    rows = store.execute(
        f"SELECT refresh, version, base, details FROM {_db(store)}.segment_refreshes "
        "WHERE segment = %(s)s ORDER BY refresh",
        {"s": name},
    )
    return [(int(r), int(v), int(b), str(d)) for r, v, b, d in rows]


def sizes(store: Store, name: str) -> dict[str, list[SizePoint]]:
    """Members and share of the base at every refresh, per segment written."""
    out: dict[str, list[SizePoint]] = {}
    for refresh, version, base, details in refreshes(store, name):
        for segment, members in json.loads(details).get("members", {}).items():
            out.setdefault(segment, []).append(
                SizePoint(
                    refresh,
                    datetime.fromtimestamp(refresh / 1000, UTC).isoformat(),
                    version,
                    int(members),
                    base,
                    members / base if base else 0.0,
                )
            )
    return out


def movement(store: Store, name: str, before: int, after: int) -> list[Movement]:
    """Where the people of the base went between two refreshes of ``name``: from which of its
    segments (or '' for none of them) to which."""
    rows = store.execute(
        f"""SELECT from_segment, to_segment, count() FROM (
            SELECT person_id,
                   if(has(groupArrayIf(segment, refresh = %(a)s), ''),
                      arrayStringConcat(arraySort(groupArrayIf(segment,
                          refresh = %(a)s AND segment != '')), '+'),
                      '(not in base)') AS from_segment,
                   arrayStringConcat(arraySort(groupArrayIf(segment,
                          refresh = %(b)s AND segment != '')), '+') AS to_segment,
                   countIf(refresh = %(b)s AND segment = '') AS in_base
            FROM {_db(store)}.segment_members
            WHERE refresh IN (%(a)s, %(b)s)
              AND (segment = '' OR segment = %(s)s OR startsWith(segment, %(g)s))
            GROUP BY person_id)
        WHERE in_base > 0
        GROUP BY from_segment, to_segment ORDER BY from_segment, to_segment""",
        {"a": before, "b": after, "s": name, "g": name + "/"},
    )
    return [Movement(str(f), str(t), int(n)) for f, t, n in rows]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


Stats = tuple[int, int, int, int, float, float, float, float]
_EMPTY: Stats = (0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0)


def group_stats(
    store: Store, name: str, refresh: int, at: datetime, include_bots: bool = False
) -> tuple[dict[str, Stats], Stats]:
    """Per segment written by ``name`` at ``refresh`` (its groups are exclusive), and for the
    whole base, in one pass: people, identified, contactable, converted (a purchase), and the
    sum and sum of squares of events and of revenue per person."""
    f = Features(store.database, at, include_bots=include_bots)
    select = {
        "identified": f.attribute("identified"),
        "contactable": f.attribute("contactable"),
        "events": f.attribute("events"),
        "purchases": f.attribute("purchases"),
        "revenue": f.attribute("revenue"),
    }
    members = (
        f"(SELECT person_id, segment FROM {_db(store)}.segment_members "
        "WHERE refresh = %(refresh)s AND (segment = %(name)s OR startsWith(segment, %(group)s)))"
    )
    sql = f"""SELECT segment, count(), sum(identified), sum(contactable), countIf(purchases > 0),
               sum(events), sum(events * events), sum(revenue), sum(revenue * revenue)
        FROM (SELECT * FROM (SELECT * FROM {f.sql(select)}) AS p
              ANY LEFT JOIN {members} AS m USING person_id)
        GROUP BY segment"""
    params = {**f.query.values, "refresh": refresh, "name": name, "group": name + "/"}
    groups: dict[str, Stats] = {}
    for row in store.execute(sql, params):
        groups[str(row[0])] = (
            int(row[1]), int(row[2]), int(row[3]), int(row[4]),
            float(row[5]), float(row[6]), float(row[7]), float(row[8]),
        )  # fmt: skip
    total = tuple(sum(g[i] for g in groups.values()) for i in range(8))
    return {k: v for k, v in groups.items() if k}, total  # type: ignore[return-value]


def _moments(total: float, squares: float, n: int) -> tuple[float, float]:
    """Mean and population variance from a sum and a sum of squares."""
    if not n:
        return 0.0, 0.0
    mean = total / n
    return mean, max(0.0, squares / n - mean * mean)


def quality(inside: Stats, everyone: Stats, stable: Criterion) -> list[Criterion]:
    """The five criteria for a segment from its ``group_stats`` and the base's."""
    outside = tuple(everyone[i] - inside[i] for i in range(8))
    n_in, n_out = int(inside[0]), int(outside[0])
    base = n_in + n_out
    crit = [
        Criterion(
            "measurable",
            n_in > 0,
            {"members": n_in, "base": base, "share": _round(n_in / base if base else 0.0)},
        ),
    ]
    identified = inside[1] / n_in if n_in else 0.0
    contactable = inside[2] / n_in if n_in else 0.0
    crit.append(
        Criterion(
            "reachable",
            identified >= 0.5,
            {"identified": _round(identified), "contactable": _round(contactable)},
        )
    )
    share = n_in / base if base else 0.0
    crit.append(
        Criterion(
            "substantial",
            n_in >= MIN_MEMBERS and share >= MIN_SHARE,
            {
                "members": n_in,
                "share": _round(share),
                "min_members": MIN_MEMBERS,
                "min_share": MIN_SHARE,
            },
        )
    )
    events_in, events_out = (
        _moments(inside[4], inside[5], n_in),
        _moments(outside[4], outside[5], n_out),
    )
    revenue_in, revenue_out = (
        _moments(inside[6], inside[7], n_in),
        _moments(outside[6], outside[7], n_out),
    )
    converted_in, converted_out = int(inside[3]), int(outside[3])
    conv_in = converted_in / n_in if n_in else 0.0
    conv_out = converted_out / n_out if n_out else 0.0
    p_value = statistics.two_proportion(converted_in, n_in, converted_out, n_out)
    h = statistics.cohens_h(conv_in, conv_out) if n_in and n_out else None
    d_events = statistics.cohens_d(*events_in, n_in, *events_out, n_out)
    d_revenue = statistics.cohens_d(*revenue_in, n_in, *revenue_out, n_out)
    effects = [abs(e) for e in (h, d_events, d_revenue) if e is not None]
    crit.append(
        Criterion(
            "distinct",
            bool(effects) and max(effects) >= NOTABLE_EFFECT,
            {
                "conversion": _round(conv_in),
                "conversion_others": _round(conv_out),
                "cohens_h": _round(h),
                "p_value": _round(p_value, 6),  # of the difference in conversion
                "events_per_person": _round(events_in[0], 2),
                "events_per_person_others": _round(events_out[0], 2),
                "cohens_d_events": _round(d_events),
                "revenue_per_person": _round(revenue_in[0], 2),
                "revenue_per_person_others": _round(revenue_out[0], 2),
                "cohens_d_revenue": _round(d_revenue),
            },
        )
    )
    crit.append(stable)
    return crit


def _stability(
    store: Store, segment: str, history: list[int], points: list[SizePoint]
) -> Criterion:
    """Overlap of consecutive memberships of ``segment`` over the refreshes of ``history``."""
    if len(history) < 2:
        return Criterion("stable", True, {"refreshes": len(history), "note": "one refresh so far"})
    jaccards = []
    for a, b in zip(history, history[1:], strict=False):
        ((both, either),) = store.execute(
            f"SELECT countIf(n = 2), count() FROM (SELECT person_id, count() AS n "
            f"FROM {_db(store)}.segment_members WHERE segment = %(s)s AND refresh IN (%(a)s, %(b)s) "
            "GROUP BY person_id)",
            {"s": segment, "a": a, "b": b},
        )
        jaccards.append(int(both) / int(either) if either else 1.0)
    counts = [p.members for p in points if p.refresh in history]
    mean = sum(counts) / len(counts) if counts else 0.0
    spread = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts)) / mean if mean else 0.0
    average = sum(jaccards) / len(jaccards)
    return Criterion(
        "stable",
        average >= STABLE_JACCARD,
        {
            "refreshes": len(history),
            "jaccard_between_refreshes": [_round(j) for j in jaccards],
            "mean_jaccard": _round(average),
            "size_coefficient_of_variation": _round(spread),
        },
    )


def rfm_value(
    store: Store, name: str, refresh: int, details: dict[str, Any]
) -> list[dict[str, Any]]:
    """Customer value per RFM group at ``refresh``."""
    steps = details["thresholds"]
    r, f, m = scores_sql(steps)
    rows = store.execute(
        f"""SELECT grp, count(), sum(monetary), avg(monetary), avg(frequency), avg(recency_days),
                   avg(r), avg(f), avg(m)
            FROM (SELECT *, {rfm_group_sql(steps)} AS grp, {r} AS r, {f} AS f, {m} AS m
                  FROM {_db(store)}.rfm_values WHERE refresh = %(r)s AND segment = %(s)s)
            GROUP BY grp ORDER BY sum(monetary) DESC""",
        {"r": refresh, "s": name},
    )
    total_people = sum(int(x[1]) for x in rows) or 1
    total_revenue = sum(float(x[2]) for x in rows) or 1.0
    return [
        {
            "group": g,
            "customers": int(n),
            "share_of_customers": round(int(n) / total_people, 4),
            "revenue": round(float(rev), 2),
            "share_of_revenue": round(float(rev) / total_revenue, 4),
            "revenue_per_customer": round(float(avg_rev), 2),
            "orders_per_customer": round(float(orders), 2),
            "days_since_purchase": round(float(days), 1),
            "mean_r": round(float(ar), 2),
            "mean_f": round(float(af), 2),
            "mean_m": round(float(am), 2),
        }
        for g, n, rev, avg_rev, orders, days, ar, af, am in rows
    ]


def report(store: Store, name: str, with_quality: bool = True) -> SegmentReport:
    """Everything about segment ``name`` as of its latest refresh."""
    defined = stored(store)
    if name not in defined:
        raise DefinitionError(f"name: no segment {name!r} is defined")
    s = defined[name]
    history = refreshes(store, name)
    by_segment = sizes(store, name)
    out = SegmentReport(
        segment=name,
        kind=s.definition.kind,
        category=s.definition.category,
        description=s.definition.description,
        version=s.version,
        groups=sorted(by_segment),
        sizes=by_segment,
    )
    if not history:
        return out
    latest, _, _, details_text = history[-1]
    details = json.loads(details_text)
    out.details = {k: v for k, v in details.items() if k != "members"}
    if len(history) >= 2:
        out.movement = movement(store, name, history[-2][0], latest)
    at = datetime.fromtimestamp(latest / 1000, UTC)
    if with_quality:
        stats, everyone = group_stats(store, name, latest, at, s.definition.include_bots)
        recent = [r for r, *_ in history][-6:]
        for segment in out.groups:
            stable = _stability(store, segment, recent, by_segment.get(segment, []))
            out.quality[segment] = quality(stats.get(segment, _EMPTY), everyone, stable)
    if s.definition.kind == "rfm":
        out.value = rfm_value(store, name, latest, details)
    return out

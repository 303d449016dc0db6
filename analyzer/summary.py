"""What is loaded: counts by type and source, visitors, people, and the shop funnel per segment.

A first report for the demo and for operators; the full funnel engine is analyzer.funnels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.events import NOT_BOT, deduplicated, number_property
from analyzer.identity import with_person
from storage.sql import identifier
from storage.store import Store

SHOP_FUNNEL = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
BREAKDOWNS = ("utm_source", "device_type", "source", "browser", "os")


@dataclass(frozen=True)
class Summary:
    rows_stored: int
    events: int
    by_type: dict[str, int]
    visitors: int
    identified_users: int
    revenue: float
    first: Any
    last: Any
    bot_events: int = 0  # of ``events``: flagged as bots (collector.agent), left out of analyses


def summary(store: Store) -> Summary:
    db = store.database
    (stored,) = store.execute(f"SELECT count() FROM {identifier(db)}.events")[0]
    src = deduplicated(
        db,
        [
            "type",
            "anonymous_id",
            "user_id",
            "timestamp",
            "event",
            "property_paths",
            "device_type",
        ],
    )
    by_type = dict(store.execute(f"SELECT type, count() FROM {src} GROUP BY type ORDER BY type"))
    row = store.execute(
        "SELECT count(), uniqExact(anonymous_id), uniqExactIf(user_id, user_id != ''), "
        f"sumIf({number_property('revenue')}, event = 'Order Completed'), "
        f"min(timestamp), max(timestamp), countIf(NOT ({NOT_BOT})) FROM {src}",
        {"revenue": "revenue"},
    )[0]
    return Summary(
        int(stored),
        int(row[0]),
        {k: int(v) for k, v in by_type.items()},
        int(row[1]),
        int(row[2]),
        float(row[3]),
        row[4],
        row[5],
        int(row[6]),
    )


def shop_funnel(
    store: Store,
    breakdown: str = "utm_source",
    window_seconds: int = 7 * 86400,
    steps: tuple[str, ...] = SHOP_FUNNEL,
) -> list[dict[str, Any]]:
    """People reaching each step in order within the window, per value of ``breakdown`` (taken
    from the person's first event). People are identity-stitched (analyzer.identity); bots are
    left out."""
    if breakdown not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {', '.join(BREAKDOWNS)}")
    if not 1 <= len(steps) <= 10:
        raise ValueError("a funnel has 1 to 10 steps")
    conds = ", ".join(f"event = %(s{i})s" for i in range(len(steps)))
    src = with_person(store.database, ["timestamp", "event", breakdown], NOT_BOT)
    sql = f"""
        SELECT segment, level, count() AS people FROM (
            SELECT person_id,
                   argMin({identifier(breakdown)}, timestamp) AS segment,
                   windowFunnel(%(window)s)(timestamp, {conds}) AS level
            FROM {src}
            GROUP BY person_id
        ) GROUP BY segment, level ORDER BY segment, level"""
    params: dict[str, Any] = {f"s{i}": step for i, step in enumerate(steps)}
    params["window"] = window_seconds
    counts: dict[str, dict[int, int]] = {}
    for segment, level, people_count in store.execute(sql, params):
        counts.setdefault(segment or "(none)", {})[int(level)] = int(people_count)
    result = []
    for segment, levels in sorted(counts.items()):
        reached = [sum(n for lvl, n in levels.items() if lvl >= i + 1) for i in range(len(steps))]
        result.append(
            {
                "segment": segment,
                "people": sum(levels.values()),
                "steps": [
                    {
                        "step": step,
                        "people": reached[i],
                        "conversion_from_start": reached[i] / reached[0] if reached[0] else 0.0,
                    }
                    for i, step in enumerate(steps)
                ],
            }
        )
    return result


def report(store: Store) -> dict[str, Any]:
    """Everything the summary shows, JSON-ready: what is loaded, the shop funnel per traffic
    source and per device, and its stages with time to convert over all people."""
    from analyzer.funnels import FunnelSpec, run
    from analyzer.vocabulary import Step

    loaded = summary(store)
    stages: list[dict[str, Any]] = []
    period: tuple[datetime, datetime] | None = None
    if loaded.events and loaded.first is not None:
        period = recent(loaded.first, loaded.last)
        spec = FunnelSpec(
            steps=tuple(Step(name) for name in SHOP_FUNNEL), date_from=period[0], date_to=period[1]
        )
        stages = [asdict(r) for r in run(store, spec)]
    return {
        **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(loaded).items()},
        "funnel_by_utm_source": shop_funnel(store, "utm_source"),
        "funnel_by_device_type": shop_funnel(store, "device_type"),
        "stages": stages,
        "stages_since": period[0].isoformat() if period else None,
        "stages_until": period[1].isoformat() if period else None,
    }


# A store's summary reads its recent past: however long its history (ten years of imported
# events, or one stray event dated 1999), a funnel over all of it would span more than any
# analysis takes.
RECENT_DAYS = 90


def recent(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The RECENT_DAYS up to the day after the last event (from the first if that is later)."""
    until = last.replace(tzinfo=UTC, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    since = max(first.replace(tzinfo=UTC), until - timedelta(days=RECENT_DAYS))
    return since.replace(hour=0, minute=0, second=0, microsecond=0), until

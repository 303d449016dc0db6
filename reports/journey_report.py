"""The journey report of a shop: the funnel by traffic source and by device, its daily trend,
the top paths, the pain points of the weakest source, retention and lifecycle, on one HTML
page. `journey demo` writes it for the demo traffic; `journey report journey` for any store
whose events follow the shop's names (Segment's e-commerce spec)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analyzer.summary import SHOP_FUNNEL
from reports.analyses import Result, run
from reports.params import Params
from storage.sql import identifier
from storage.store import Store


def results(store: Store, since: datetime, until: datetime) -> list[Result]:
    period = {"since": since.date().isoformat(), "until": until.date().isoformat()}
    shop = {"step": list(SHOP_FUNNEL), **period}
    by_source = run(store, "funnel", Params.of(**shop, breakdown="utm_source"))
    out = [
        by_source,
        run(store, "funnel", Params.of(**shop, breakdown="device_type")),
        run(store, "funnel", Params.of(**shop, trend="day")),
        run(
            store,
            "paths",
            Params.of(kind="all", clean=r"^/product/[^/]+$=/product/:id", top=15, **period),
        ),
    ]
    sources = [g for g in by_source.data["breakdown"] if g["steps"][0]["people"] >= 30]
    if sources:  # the pain points of the source that converts worst
        worst = min(sources, key=lambda g: g["steps"][-1]["conversion_from_start"])
        value = "" if worst["value"] == "(none)" else worst["value"]
        out.append(run(store, "painpoints", Params.of(**shop, segment=f"utm_source={value}")))
    out.append(
        run(
            store,
            "retention",
            Params.of(
                start_event=SHOP_FUNNEL[0],
                return_event=SHOP_FUNNEL[0],
                period="day",
                periods=14,
                **period,
            ),
        )
    )
    out.append(run(store, "lifecycle", Params.of(event=SHOP_FUNNEL[0], period="day", **period)))
    return out


def period_of(store: Store) -> tuple[datetime, datetime] | None:
    """The days the store has events on: from the first to the day after the last."""
    first, last = store.execute(
        f"SELECT min(timestamp), max(timestamp) FROM {identifier(store.database)}.events"
    )[0]
    if first is None or first.year < 2000:  # no events (min of nothing is the epoch)
        return None
    start = first.replace(tzinfo=UTC, hour=0, minute=0, second=0, microsecond=0)
    end = last.replace(tzinfo=UTC, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start, end

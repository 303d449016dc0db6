"""The journey report of a shop: the funnel by traffic source and by device, its daily trend,
the journey map of the shop's stages per traffic source, a daily trend of the people at a
stage by source, the top paths, the pain points of the weakest source, retention and
lifecycle, the web basics, what distinguishes the people who drop at the funnel's weakest
step, and the latest experiments, on one HTML page. `journey demo` writes it for the demo
traffic (and defines the shop's stages as touchpoint sets, ``SHOP_STAGES``); `journey report
journey` for any store whose events follow the shop's names (Segment's e-commerce spec), with
the stages as touchpoint sets where they are defined, else one event each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analyzer import touchpoints
from analyzer.summary import SHOP_FUNNEL, recent
from reports.analyses import Result, run
from reports.params import Params
from storage.sql import identifier
from storage.store import Store

# A shop's journey in stages, each reached through any of its touchpoints (Segment's
# e-commerce names): what `journey demo` defines, and what the report maps when defined.
SHOP_STAGES: dict[str, Any] = {
    "version": 1,
    "touchpoints": [
        {
            "name": "awareness",
            "description": "any page seen, or a product",
            "any_of": [
                {"where": [{"field": "type", "op": "eq", "value": "page"}]},
                "Product Viewed",
            ],
        },
        {
            "name": "consideration",
            "description": "a product looked at closely or put in the cart",
            "any_of": ["Product Viewed", "Product Added", "Cart Viewed"],
        },
        {
            "name": "intent",
            "description": "on the way to pay",
            "any_of": ["Checkout Started", "Payment Info Entered"],
        },
        {"name": "purchase", "description": "an order", "any_of": ["Order Completed"]},
    ],
}


def define_shop_stages(store: Store) -> None:
    """Define the shop's stages as touchpoint sets (a new version only if they changed)."""
    touchpoints.define(store, touchpoints.parse_document(SHOP_STAGES))


def _stages(store: Store) -> list[str]:
    names = [s["name"] for s in SHOP_STAGES["touchpoints"]]
    defined = touchpoints.stored(store)
    if all(n in defined for n in names):
        return [f"set:{n}" for n in names]
    return list(SHOP_FUNNEL)


def results(store: Store, since: datetime, until: datetime) -> list[Result]:
    period = {"since": since.date().isoformat(), "until": until.date().isoformat()}
    shop = {"step": list(SHOP_FUNNEL), **period}
    by_source = run(store, "funnel", Params.of(**shop, breakdown="utm_source"))
    stages = _stages(store)
    out = [
        by_source,
        run(store, "funnel", Params.of(**shop, breakdown="device_type")),
        run(store, "funnel", Params.of(**shop, trend="day")),
        run(store, "journey_map", Params.of(stage=stages, breakdown="utm_source", **period)),
        run(
            store,
            "trends",
            Params.of(event=stages[1], measure="people", breakdown="utm_source", **period),
        ),
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
    out.append(run(store, "web", Params.of(clean=r"^/product/[^/]+$=/product/:id", **period)))
    out += [run(store, "experiment", Params.of(experiment=key)) for key in _experiments(store)]
    # what distinguishes the people who drop at the shop funnel's weakest step
    steps = by_source.data["steps"]
    if steps[0]["people"]:
        weakest = min(range(1, len(steps)), key=lambda k: steps[k]["conversion_from_previous"])
        fields = ["utm_source", "device_type", "browser", "os", "page_path"]
        out.append(
            run(
                store,
                "correlation",
                Params.of(**shop, dropped_at=weakest, field=fields, min_count=5),
            )
        )
    return out


def _experiments(store: Store, most: int = 3) -> list[str]:
    """The latest experiments started (up to ``most``), newest first."""
    from analyzer.experiments import catalog

    now = datetime.now(UTC)
    started = [s for s in catalog.stored(store).values() if s.status(now) != "scheduled"]
    started.sort(key=lambda s: s.experiment.start, reverse=True)
    return [s.experiment.key for s in started[:most]]


def period_of(store: Store) -> tuple[datetime, datetime] | None:
    """The recent days the store has events on (analyzer.summary.recent: up to 90 days, to the
    day after the last event), or None for an empty store."""
    count, first, last = store.execute(
        f"SELECT count(), min(timestamp), max(timestamp) FROM {identifier(store.database)}.events"
    )[0]
    if not count:
        return None
    return recent(first, last)

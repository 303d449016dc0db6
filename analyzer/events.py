"""The one way analytics read events: each event_id once, whatever replays left in the table.

ReplacingMergeTree collapses repeated rows only when it merges, which is never a promise; and a
client retry after a lost answer can carry a slightly different server time. So every query
reads through ``deduplicated()``, which keeps one row per event_id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from storage.sql import identifier
from storage.store import Store

# What people do (as opposed to identify, alias, group): what paths, sessions and strict funnels
# are made of.
BEHAVIOUR = "type IN ('track', 'page', 'screen')"
# Bots (collector.agent flags crawlers, headless browsers and scripts as device_type 'bot'):
# every analysis leaves them out unless it is asked to include them.
NOT_BOT = "device_type != 'bot'"


def humans(include_bots: bool) -> str:
    """SQL: the events an analysis counts, everyone's but bots' unless ``include_bots``."""
    return "1" if include_bots else NOT_BOT


# A purchase: the track event named by the ``purchase_event`` parameter.
PURCHASE = "type = 'track' AND event = %(purchase_event)s"


def property_text(param: str) -> str:
    """SQL: the event property at the path named by parameter ``param`` (``category``, or
    ``products[0].price``; storage.paths): a string as it is, a number or boolean as its JSON
    text; '' when the event has none."""
    return f"visitParamExtractString(property_paths, %({param})s)"


def has_property(param: str) -> str:
    """SQL: whether the event has a property at the path named by parameter ``param``."""
    return f"visitParamHas(property_paths, %({param})s)"


def trait_text(param: str) -> str:
    """SQL: the trait at the path named by parameter ``param`` (``plan``, ``address.country``)
    in the event's traits, as ``property_text`` gives a property."""
    return f"visitParamExtractString(trait_paths, %({param})s)"


def has_trait(param: str) -> str:
    """SQL: whether the event's traits have the path named by parameter ``param``."""
    return f"visitParamHas(trait_paths, %({param})s)"


def number_property(param: str) -> str:
    """SQL: the number in the event property named by parameter ``param`` (a JSON number or a
    number sent as text), 0 when it is missing or not a number."""
    return f"toFloat64OrZero({property_text(param)})"


def purchase_amount() -> str:
    """SQL: the revenue of a purchase event (``revenue_property``), -1 for any other event."""
    return f"if({PURCHASE}, {number_property('revenue_property')}, -1.)"


def deduplicated(database: str, columns: Sequence[str], where: str = "1") -> str:
    """A subquery of ``columns`` with one row per event_id. ``where`` is code-built SQL whose
    values are ``%(name)s`` parameters."""
    cols = ", ".join(identifier(c) for c in dict.fromkeys(["event_id", *columns]))
    return f"(SELECT {cols} FROM {identifier(database)}.events WHERE {where} LIMIT 1 BY event_id)"


def first_seen(store: Store, include_bots: bool = False) -> datetime | None:
    """When the store's first behaviour event happened (bots' too with ``include_bots``):
    where a report asked for all time starts; None in a store with none."""
    ((count, first),) = store.execute(
        f"SELECT count(), min(timestamp) FROM {identifier(store.database)}.events "
        f"WHERE {BEHAVIOUR} AND {humans(include_bots)}"
    )
    if not count:
        return None
    moment: datetime = first
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

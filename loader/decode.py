"""Step 1: one Kafka message → rows of the events table.

A message is a ``journey/event_batch`` (what the collector produces: one visitor's events from
one request) or a single ``journey/event`` (what any other producer may send). Each event is
validated alone: a bad one is handed back with its reason to be dead-lettered, the rest load.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

import schemas
from storage.paths import paths

# The events table's columns in insert order (storage/migrations/0001_create_events.py,
# geo_country from 0004, the property and trait paths from 0011).
COLUMNS = (
    "event_id",
    "type",
    "event",
    "anonymous_id",
    "user_id",
    "group_id",
    "previous_id",
    "timestamp",
    "timestamp_ms",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "page_url",
    "page_path",
    "page_title",
    "page_referrer",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "click_id_type",
    "click_id",
    "user_agent",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "locale",
    "timezone",
    "library_name",
    "library_version",
    "ip",
    "session_id",
    "source",
    "geo_country",
    "property_paths",
    "trait_paths",
    "schema",
    "loaded_at",
)
_TEXT = [c for c in COLUMNS[15:40]]
_EPOCH = "1970-01-01T00:00:00.000Z"
# The collector accepts times up to 2105 (collector.clock); DateTime ends in February 2106.
LATEST_MS = 4_260_211_200_000  # 2105-01-01


class Invalid(ValueError):
    """This message can never load; ``str()`` says why."""


@functools.lru_cache(maxsize=4096)  # a request's events share received_at and sent_at
def _millis(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)


@dataclass
class Decoded:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    invalid: list[tuple[bytes, str]] = field(default_factory=list)  # (event as JSON, reason)


def decode(value: bytes | None) -> Decoded:
    """The rows of a message; Invalid if the message as a whole can never load."""
    if value is None:
        raise Invalid("empty message (tombstone)")
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise Invalid("a message must be a JSON object")
    kind = message.get("schema")
    if kind == schemas.EVENT:
        events = [message]
    elif kind == schemas.EVENT_BATCH:
        try:
            schemas.validate(schemas.EVENT_BATCH, message)
        except schemas.SchemaViolation as exc:
            raise Invalid(str(exc)) from None
        events = message["events"]
    else:
        raise Invalid(
            f"unknown schema {str(kind)[:60]!r}; expected {schemas.EVENT_BATCH} or {schemas.EVENT}"
        )
    decoded = Decoded()
    for event in events:
        try:
            decoded.rows.append(to_row(event))
        except Invalid as exc:
            decoded.invalid.append((orjson.dumps(event), str(exc)))
    return decoded


def _country(context: Any) -> str:
    """``context.location.country`` (the sender's, or the collector's from the IP), as a code."""
    location = context.get("location") if isinstance(context, dict) else None
    country = location.get("country") if isinstance(location, dict) else None
    return country.strip().upper()[:64] if isinstance(country, str) else ""


def to_row(event: dict[str, Any]) -> tuple[Any, ...]:
    """The row for one event; ``loaded_at`` is left 0 for the writer to stamp."""
    if event.get("schema") != schemas.EVENT:
        raise Invalid(
            f"unknown event schema {str(event.get('schema'))[:60]!r}; expected {schemas.EVENT}"
        )
    try:
        schemas.validate(schemas.EVENT, event)
    except schemas.SchemaViolation as exc:
        raise Invalid(str(exc)) from None
    try:
        ts_ms = _millis(event["timestamp"])
        times = [_millis(event.get(k) or _EPOCH) // 1000 for k in ("original_timestamp", "sent_at")]
        received = _millis(event["received_at"]) // 1000
    except ValueError as exc:
        raise Invalid(f"bad time: {exc}") from None
    if not 0 <= ts_ms < LATEST_MS:
        raise Invalid("timestamp outside the range ClickHouse DateTime holds")
    get = event.get
    properties = get("properties") or {}
    traits = get("traits") or {}
    return (
        event["event_id"],
        event["type"],
        event["event"],
        event["anonymous_id"],
        event["user_id"],
        get("group_id", ""),
        get("previous_id", ""),
        ts_ms // 1000,
        ts_ms,
        times[0],
        times[1],
        received,
        orjson.dumps(properties).decode(),
        orjson.dumps(traits).decode(),
        orjson.dumps(get("context") or {}).decode(),
        *(get(c, "") for c in _TEXT),
        _country(get("context")),
        paths(properties),
        paths(traits),
        event["schema"],
        0,
    )

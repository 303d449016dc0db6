"""Step 1: one Kafka message → one row of the events table, or Invalid with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

import schemas

# The events table's columns in insert order (storage/migrations/0001_create_events.py).
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
    "schema",
    "loaded_at",
)
_TEXT = [c for c in COLUMNS[15:40]]
_EPOCH = "1970-01-01T00:00:00.000Z"


class Invalid(ValueError):
    """This message can never load; ``str()`` says why."""


def _millis(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)


def decode(value: bytes | None) -> tuple[Any, ...]:
    """The row for a message; ``loaded_at`` is left 0 for the writer to stamp."""
    if value is None:
        raise Invalid("empty message (tombstone)")
    try:
        event = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise Invalid("an event must be a JSON object")
    if event.get("schema") != schemas.EVENT:
        raise Invalid(f"unknown schema {str(event.get('schema'))[:60]!r}; expected {schemas.EVENT}")
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
    if not 0 < ts_ms < 4_000_000_000_000:
        raise Invalid("timestamp outside the range ClickHouse DateTime holds")
    get = event.get
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
        # compact JSON on purpose: old servers' visitParamExtract* need "key":value, no spaces
        orjson.dumps(get("properties") or {}).decode(),
        orjson.dumps(get("traits") or {}).decode(),
        orjson.dumps(get("context") or {}).decode(),
        *(get(c, "") for c in _TEXT),
        event["schema"],
        0,
    )

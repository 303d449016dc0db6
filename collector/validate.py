"""Per-message checks before enrichment: size, identity, schema. One bad message never sinks
the good ones beside it; each rejection carries a reason a developer can act on."""

from __future__ import annotations

from typing import Any

import orjson

import schemas

EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")


class Rejected(ValueError):
    """This message can never be accepted; ``str()`` is the reason."""


def check_message(message: Any, max_bytes: int) -> int:
    """Raise Rejected unless ``message`` may be accepted; its encoded size otherwise."""
    if not isinstance(message, dict):
        raise Rejected(f"an event must be a JSON object, not {type(message).__name__}")
    try:
        size = len(orjson.dumps(message))
    except TypeError as exc:  # orjson refuses nesting deeper than 254 levels
        raise Rejected(f"event cannot be encoded as JSON: {exc}") from None
    if size > max_bytes:
        raise Rejected(f"event is {size} bytes; the limit is {max_bytes}")
    kind = message.get("type")
    if kind not in EVENT_TYPES:
        raise Rejected(f"type must be one of {', '.join(EVENT_TYPES)}, got {str(kind)[:40]!r}")
    if (
        kind != "alias"
        and not _present(message.get("userId"))
        and not _present(message.get("anonymousId"))
    ):
        raise Rejected("userId or anonymousId is required")
    try:
        schemas.validate(schemas.INBOUND_MESSAGE, message)
    except schemas.SchemaViolation as exc:
        raise Rejected(str(exc)) from None
    return size


def _present(value: Any) -> bool:
    return value is not None and value != ""

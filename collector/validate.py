"""Per-message checks before enrichment: size, identity, schema. One bad message never sinks
the good ones beside it; each rejection carries a reason a developer can act on."""

from __future__ import annotations

from typing import Any

import orjson

import schemas

EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")
ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")
# What a program makes of an id it did not have (JavaScript's String({}), String(undefined),
# Python's str(None), ...): storing it would make one person of every visitor who sent it.
NOT_IDS = frozenset(["[object Object]", "undefined", "null", "None", "nil", "NaN"])


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
    for field in ID_FIELDS:
        _check_id(field, message.get(field))
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


def _check_id(field: str, value: Any) -> None:
    if value is None or type(value) is str and value not in NOT_IDS:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        kind = {dict: "an object", list: "an array", bool: "a boolean"}.get(type(value), "invalid")
        raise Rejected(f"{field} must be a string or a number, not {kind}")
    if isinstance(value, str):
        raise Rejected(
            f"{field} is {value!r}, which is what a program sends for an id it does not have: "
            "send the real id, or leave the field out (or null)"
        )


def without_nulls(message: dict[str, Any]) -> dict[str, Any]:
    """The message with its null fields left out: the Segment spec's null means "not given"."""
    if None not in message.values():
        return message
    return {key: value for key, value in message.items() if value is not None}


def _present(value: Any) -> bool:
    return value is not None and value != ""

"""Step 1: Kafka messages → rows of the events table.

A message is a ``journey/event_batch`` (what the collector produces: one visitor's events from
one request) or a single ``journey/event`` (what any other producer may send).

Validation is proportionate to the sender. An event from anyone else is validated alone against
``journey/event``: a bad one is handed back with its reason to be dead-lettered, the rest load.
A batch that says ``valid_against: journey/event/1-0-0`` was written by a producer that vouches
for its events (the collector builds every event from a request it validated, within that
schema's limits, and says so): they are converted a column at a time, checking only what the
conversion needs (keys present, texts that are texts, objects that are objects, real moments),
without validating each event again, which was most of what loading them cost. A batch whose
events fail that is taken event by event like anyone else's, each bad one set aside with its
reason.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
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
# Text columns often empty in every row of a batch (no campaign, no group, ...): the writer
# leaves those out of the insert, and the table's default for them is the same empty text.
OMITTABLE = frozenset(("group_id", "previous_id", *_TEXT, "geo_country"))
_EPOCH = "1970-01-01T00:00:00.000Z"
# The collector accepts times up to 2105 (collector.clock); DateTime ends in February 2106.
LATEST_MS = 4_260_211_200_000  # 2105-01-01


class Invalid(ValueError):
    """This message can never load; ``str()`` says why."""


_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_YEAR_ONE_MS = -62_135_596_800_000  # the first moment Python's datetime holds


@functools.lru_cache(maxsize=4096)  # a request's events share received_at and sent_at
def _millis(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment.replace(tzinfo=moment.tzinfo or UTC) - _UNIX) // _MS


def _millis_all(texts: list[Any]) -> list[int]:
    """``_millis`` of many times written as the event schema's instants (``...Z``), parsed
    together by numpy; ValueError where one is not a real moment."""
    parsed = np.array([t[:-1] for t in texts], dtype="datetime64[us]").astype(np.int64) // 1000
    found: list[int] = parsed.tolist()
    if found and min(found) < _YEAR_ONE_MS:
        raise ValueError("year 0")  # numpy takes it; datetime (one at a time) does not
    return found


@dataclass
class Decoded:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    invalid: list[tuple[bytes, str]] = field(default_factory=list)  # (event as JSON, reason)


def decode(value: bytes | None) -> Decoded:
    """The rows of a message; Invalid if the message as a whole can never load."""
    (decoded,) = decode_all([value])
    if isinstance(decoded, Invalid):
        raise decoded
    return decoded


def decode_all(values: Sequence[bytes | None]) -> list[Decoded | Invalid]:
    """Each message's rows, or the Invalid that says why the message as a whole can never load
    (the module docstring says how each is checked)."""
    out: list[Decoded | Invalid] = []
    checked: list[tuple[Decoded, list[dict[str, Any]]]] = []
    for value in values:
        try:
            events, trusted = _events(value)
        except Invalid as exc:
            out.append(exc)
            continue
        decoded = Decoded()
        out.append(decoded)
        if trusted:
            checked.append((decoded, events))
        else:
            _one_by_one(decoded, events)
    for start in range(0, len(checked), _CHUNK):
        chunk = checked[start : start + _CHUNK]
        rows = converted([event for _, events in chunk for event in events])
        if rows is None:  # one of them cannot be converted: find which, one by one
            for decoded, events in chunk:
                _one_by_one(decoded, events)
            continue
        at = 0
        for decoded, events in chunk:
            decoded.rows = rows[at : at + len(events)]
            at += len(events)
    return out


# Messages converted together: a column at a time over a few thousand events stays in the CPU's
# caches; over a whole poll (up to 5,000 messages) it was twice as slow.
_CHUNK = 16


def _one_by_one(decoded: Decoded, events: list[Any]) -> None:
    for event in events:
        try:
            decoded.rows.append(to_row(event))
        except Invalid as exc:
            decoded.invalid.append((orjson.dumps(event), str(exc)))


def _events(value: bytes | None) -> tuple[list[Any], bool]:
    """The events of one message, and whether its producer vouches for them."""
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
        return [message], False
    if kind not in schemas.EVENT_BATCHES:
        raise Invalid(
            f"unknown schema {str(kind)[:60]!r}; expected {schemas.EVENT_BATCH} or {schemas.EVENT}"
        )
    events = message.get("events")
    trusted = kind == schemas.EVENT_BATCH and message.get("valid_against") == schemas.EVENT
    if not (
        len(message) == 2 + trusted
        and type(events) is list
        and events
        and set(map(type, events)) == {dict}
    ):  # what the envelope's schema asks, quickly; its validator says what is wrong
        try:
            schemas.validate(kind, message)
        except schemas.SchemaViolation as exc:
            raise Invalid(str(exc)) from None
    return events, trusted  # type: ignore[return-value]


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


def converted(events: list[dict[str, Any]]) -> list[tuple[Any, ...]] | None:
    """The rows ``to_row`` makes of events their producer vouches for, built a column at a time
    without validating them again; None if one cannot be converted."""
    if not events:
        return []
    try:
        columns = {name: [e.get(name) for e in events] for name in _KEYS}
        if set(_texts(columns["schema"])) != {schemas.EVENT}:
            return None
        stamp = _millis_all(_texts(columns["timestamp"]))
        times = [
            _millis_all(_texts(columns[k], _EPOCH))
            for k in ("original_timestamp", "sent_at", "received_at")
        ]
        if min(stamp) < 0 or max(stamp) >= LATEST_MS:
            return None
        properties, traits, contexts = (
            _objects(columns[k]) for k in ("properties", "traits", "context")
        )
        dumps = orjson.dumps
        return list(
            zip(
                *(_texts(columns[k]) for k in COLUMNS[:5]),
                _texts(columns["group_id"], ""),
                _texts(columns["previous_id"], ""),
                [ms // 1000 for ms in stamp],
                stamp,
                *([ms // 1000 for ms in column] for column in times),
                [dumps(p).decode() for p in properties],
                [dumps(t).decode() for t in traits],
                [dumps(c).decode() for c in contexts],
                *(_texts(columns[c], "") for c in _TEXT),
                list(map(_country, contexts)),
                list(map(paths, properties)),
                list(map(paths, traits)),
                columns["schema"],
                [0] * len(events),
                strict=True,
            )
        )
    except (KeyError, TypeError, ValueError):
        return None


# The keys of journey/event that make the row's columns (the columns the loader derives from
# them, timestamp_ms, geo_country and the paths, are not keys; loaded_at is the writer's).
_KEYS = tuple(
    c
    for c in COLUMNS
    if c not in ("timestamp_ms", "geo_country", "property_paths", "trait_paths", "loaded_at")
)


_MISSING = object()


def _texts(column: list[Any], default: Any = _MISSING) -> list[str]:
    """A column of texts, ``default`` where an event has none (None); KeyError if an event
    lacks a required one, TypeError if a value is not a text (ClickHouse would take a number
    as text, or the driver refuse it as no data error)."""
    if None in column:
        if default is _MISSING:
            raise KeyError("a required key is missing")
        if column.count(None) == len(column):  # often: no event has this one
            return [default] * len(column)
        column = [default if v is None else v for v in column]
    if set(map(type, column)) != {str}:
        raise TypeError("a value that is not a text")
    return column


def _objects(column: list[Any]) -> list[dict[str, Any]]:
    """A column of objects, {} where an event has none; TypeError if a value is not one."""
    column = [{} if v is None else v for v in column]
    if set(map(type, column)) != {dict}:
        raise TypeError("a value that is not an object")
    return column

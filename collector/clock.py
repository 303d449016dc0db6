"""Event time: parse client timestamps and correct the client's clock skew.

A client's clock may be wrong, but the gap between when it made an event and when it sent it is
right. So ``timestamp = received_at - (sent_at - original_timestamp)`` (Segment's rule). Without
``sentAt`` the client's time is taken as is; without any client time, the time received.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What the events table holds (ClickHouse DateTime ends in February 2106). A client clock outside
# it is refused with this reason; one inside it, however wrong, is corrected by sentAt.
_LATEST = datetime(2105, 1, 1, tzinfo=UTC)
RANGE = "1970-01-01 to 2104-12-31 UTC"
# A corrected time before this is a broken clock (sentAt far ahead of the event): time received.
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
# A corrected time further ahead than this is a broken clock or a forgery: use the time received.
MAX_FUTURE = timedelta(hours=1)


def parse_instant(value: object, field: str) -> datetime:
    """An aware UTC datetime from an ISO 8601 string or epoch seconds/milliseconds."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{field} must be an ISO 8601 time")
    try:
        if isinstance(value, str):
            text = value.strip()
            parsed = datetime.fromisoformat(
                text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
            )
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
        else:
            seconds = value / 1000 if value > 10**11 else value
            parsed = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{field} is not a valid ISO 8601 time: {str(value)[:40]!r}") from None
    parsed = parsed.astimezone(UTC)
    if not EPOCH <= parsed < _LATEST:
        raise ValueError(f"{field} {str(value)[:40]!r} is outside the times stored, {RANGE}")
    return parsed


def corrected(
    received_at: datetime, sent_at: datetime | None, original: datetime | None
) -> datetime:
    """The event's time on the server's clock. A client time at the epoch itself, with no
    ``sentAt`` to correct it by, is an unset clock, not a moment: refused (ValueError), never
    stored as some other time."""
    if original is None:
        return received_at
    if sent_at is None and original < _EARLIEST:
        raise ValueError(
            f"timestamp {iso(original)} is an unset clock's zero; send the event's time, or "
            "sentAt beside it, or leave timestamp out to take the time received"
        )
    event_time = received_at - (sent_at - original) if sent_at is not None else original
    if event_time > received_at + MAX_FUTURE or event_time < _EARLIEST:
        return received_at
    return event_time


def iso(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: the form events carry on the topic."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"

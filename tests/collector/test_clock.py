from datetime import UTC, datetime, timedelta

import pytest

from collector.clock import corrected, iso, parse_instant

UTC = UTC
RECEIVED = datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC)


def test_skew_correction_keeps_the_clients_gap() -> None:
    # The client's clock is 1 hour fast: it made the event 4 s before sending.
    original = datetime(2024, 5, 1, 13, 0, 0, tzinfo=UTC)
    sent = datetime(2024, 5, 1, 13, 0, 4, tzinfo=UTC)
    assert corrected(RECEIVED, sent, original) == RECEIVED - timedelta(seconds=4)


def test_without_sent_at_the_client_time_stands_and_without_any_the_receive_time() -> None:
    original = datetime(2024, 4, 30, tzinfo=UTC)
    assert corrected(RECEIVED, None, original) == original
    assert corrected(RECEIVED, None, None) == RECEIVED


def test_a_time_far_in_the_future_falls_back_to_the_receive_time() -> None:
    assert corrected(RECEIVED, None, RECEIVED + timedelta(days=2)) == RECEIVED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.250Z", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (1714564800, datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (1714564800000, datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_instant(raw: object, expected: datetime) -> None:
    assert parse_instant(raw, "timestamp") == expected


@pytest.mark.parametrize(
    "raw",
    ["yesterday", "", "1969-12-31T00:00:00Z", "9999-01-01T00:00:00Z", True, None, {"a": 1}, 1e30],
)
def test_parse_instant_rejects_with_the_field_name(raw: object) -> None:
    with pytest.raises(ValueError, match="sentAt"):
        parse_instant(raw, "sentAt")


def test_iso_is_milliseconds_utc() -> None:
    assert iso(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)) == "2024-05-01T12:00:00.123Z"


def test_the_epoch_itself_is_refused_not_stored_as_another_time() -> None:
    """``1970-01-01T00:00:00Z`` with no sentAt is an unset clock: once stored silently as the
    time received, now refused with the reason (only that event: its neighbours still land)."""
    now = datetime(2026, 12, 7, tzinfo=UTC)
    zero = parse_instant("1970-01-01T00:00:00Z", "timestamp")
    with pytest.raises(ValueError, match="unset clock"):
        corrected(now, None, zero)
    # a device whose clock restarted at zero, with sentAt on the same clock: its gap is right
    assert corrected(now, zero + timedelta(seconds=5), zero) == now - timedelta(seconds=5)

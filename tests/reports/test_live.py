"""What the tail shows of a Kafka message (the live pane and `journey tail` end to end are
played in tests/journey/cli/test_main.py)."""

import orjson

from reports.live import decode
from schemas import DEAD_LETTER, EVENT, EVENT_BATCH


def test_an_event_batch_is_one_line_per_event_with_bots_marked() -> None:
    batch = {
        "schema": EVENT_BATCH,
        "valid_against": EVENT,
        "events": [
            {"type": "track", "event": "Product Viewed", "anonymous_id": "a1", "user_id": "",
             "source": "backend", "device_type": "other"},
            {"type": "page", "event": "Home", "anonymous_id": "a2", "user_id": "u2",
             "source": "website", "device_type": "bot"},
        ],
    }  # fmt: skip
    first, second = decode("event", orjson.dumps(batch), 1_765_000_000_000)
    assert (first.type, first.event, first.person, first.source) == (
        "track",
        "Product Viewed",
        "a1",
        "backend",
    )
    assert first.at == "2025-12-06T05:46:40+00:00"
    assert second.person == "u2" and "bot" in second.line() and "bot" not in first.line()


def test_a_dead_letter_says_who_refused_it_and_why() -> None:
    letter = {
        "schema": DEAD_LETTER,
        "stage": "collector",
        "reason": "message must contain ['event'] properties",
        "payload": '{"type":"track"}' + "x" * 1000,
        "source": "backend",
    }
    (seen,) = decode("dead_letter", orjson.dumps(letter), 0)
    assert seen.kind == "dead_letter" and seen.stage == "collector"
    assert "collector: message must contain ['event'] properties" in seen.line()
    assert len(seen.payload) == 300


def test_what_is_not_json_is_said_not_raised() -> None:
    assert decode("event", b"\xff", 0)[0].reason == "not JSON"
    assert decode("event", b"[1]", 0) == []

import orjson
import pytest

import schemas
from loader.decode import COLUMNS, Decoded, Invalid, decode, decode_all, to_row


def event(**changes: object) -> dict:
    base = dict(dict(schemas.examples(schemas.EVENT))["valid_track.json"])
    base.update(changes)
    return base


def test_row_follows_the_column_order() -> None:
    row = dict(zip(COLUMNS, decode(orjson.dumps(event())).rows[0], strict=True))
    assert row["event_id"] == "ajs-8f1c2d3e-0001"
    assert row["timestamp_ms"] == 1714564804250
    assert row["timestamp"] == 1714564804
    assert row["original_timestamp"] == 1714564800
    assert orjson.loads(row["properties"]) == {
        "order_id": "50314b8e9bcf000000000000",
        "revenue": 25.0,
    }
    assert row["page_path"] == "/checkout" and row["source"] == "web"
    assert row["schema"] == schemas.EVENT


def test_optional_fields_default_to_empty() -> None:
    minimal = dict(schemas.examples(schemas.EVENT))["valid_minimal_identify.json"]
    row = dict(zip(COLUMNS, decode(orjson.dumps(minimal)).rows[0], strict=True))
    assert row["group_id"] == "" and row["page_url"] == "" and row["sent_at"] == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"{nope", "not JSON"),
        (b"[1]", "JSON object"),
        (orjson.dumps(event(schema="journey/event/9-0-0")), "unknown schema"),
        (orjson.dumps({"schema": schemas.EVENT_BATCH, "events": []}), "events"),
    ],
)
def test_messages_that_can_never_load_say_why(raw: bytes | None, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        decode(raw)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (event(timestamp="yesterday"), "timestamp"),
        (event(colour="blue"), "colour"),
        (event(schema="journey/event/9-0-0"), "unknown event schema"),
        (event(timestamp="2200-01-01T00:00:00Z"), "range"),
    ],
)
def test_a_bad_event_in_a_batch_is_set_aside_and_the_rest_load(bad: dict, reason: str) -> None:
    good = [event(event_id="g1"), event(event_id="g2")]
    decoded = decode(
        orjson.dumps({"schema": schemas.EVENT_BATCH, "events": [good[0], bad, good[1]]})
    )
    assert [r[0] for r in decoded.rows] == ["g1", "g2"]
    ((raw, why),) = decoded.invalid
    assert reason in why and orjson.loads(raw) == bad


def test_every_event_batch_example_decodes_as_its_verdict() -> None:
    for name, payload in schemas.examples(schemas.EVENT_BATCH):
        if name.startswith("valid_"):
            assert len(decode(orjson.dumps(payload)).rows) == len(payload["events"])
        else:
            with pytest.raises(Invalid):
                decode(orjson.dumps(payload))


@pytest.mark.parametrize(
    ("context", "country"),
    [
        ({"location": {"country": "de "}}, "DE"),
        ({"location": {"country": 7}}, ""),
        ({"location": "FR"}, ""),
        ({}, ""),
    ],
)
def test_the_country_is_lifted_from_context_location(context: dict, country: str) -> None:
    row = dict(zip(COLUMNS, decode(orjson.dumps(event(context=context))).rows[0], strict=True))
    assert row["geo_country"] == country


def _batch(events: list[dict], vouched: bool) -> bytes:
    head = {"schema": schemas.EVENT_BATCH}
    if vouched:
        head["valid_against"] = schemas.EVENT
    return orjson.dumps({**head, "events": events})


def _every_example_event() -> list[dict]:
    found = [p for n, p in schemas.examples(schemas.EVENT) if n.startswith("valid_")]
    for name, payload in schemas.examples(schemas.EVENT_BATCH):
        if name.startswith("valid_"):
            found += payload["events"]
    return found


def test_vouched_batches_make_the_rows_each_event_makes_alone() -> None:
    """The collector's batches are converted a column at a time without validating each event
    again: the rows must be exactly those validated, one-by-one conversion makes."""
    from bench.loader_throughput import messages
    from core.settings import Settings

    events = _every_example_event()
    for _, value in messages(Settings(), 200):
        events += orjson.loads(value)["events"]
    alone = [to_row(e) for e in events]
    assert [r for d in decode_all([_batch(events, True)]) for r in d.rows] == alone
    assert decode(_batch(events, False)).rows == alone
    # a few at a time, as polls bring them: the same rows in the same order
    pieces = [_batch(events[i : i + 3], True) for i in range(0, len(events), 3)]
    assert [r for d in decode_all(pieces) for r in d.rows] == alone


@pytest.mark.parametrize(
    "bad",
    [
        event(timestamp="2024-02-30T00:00:00Z"),  # no such day
        event(timestamp="0000-01-01T00:00:00Z"),  # numpy takes year 0; datetime does not
        {k: v for k, v in event().items() if k != "event_id"},
        event(timestamp="2200-01-01T00:00:00Z"),
        event(schema="journey/event/9-0-0"),
    ],
)
def test_a_vouched_batch_with_an_event_that_cannot_convert_is_taken_one_by_one(
    bad: dict,
) -> None:
    good = [event(event_id="g1"), event(event_id="g2")]
    (decoded,) = decode_all([_batch([good[0], bad, good[1]], True)])
    assert isinstance(decoded, Decoded)
    assert [r[0] for r in decoded.rows] == ["g1", "g2"]
    assert len(decoded.invalid) == 1 and orjson.loads(decoded.invalid[0][0]) == bad


def test_one_bad_message_leaves_the_others_of_the_poll_alone() -> None:
    good = _batch([event(event_id="a")], True)
    out = decode_all([good, b"{nope", _batch([event(event_id="b")], False), None])
    assert [type(d).__name__ for d in out] == ["Decoded", "Invalid", "Decoded", "Invalid"]
    assert [r[0] for d in out if isinstance(d, Decoded) for r in d.rows] == ["a", "b"]


def test_the_older_batch_version_still_loads() -> None:
    old = orjson.dumps({"schema": "journey/event_batch/1-0-0", "events": [event()]})
    assert len(decode(old).rows) == 1
    vouching_old = orjson.dumps(
        {"schema": "journey/event_batch/1-0-0", "valid_against": schemas.EVENT, "events": [event()]}
    )
    with pytest.raises(Invalid, match="valid_against"):
        decode(vouching_old)  # 1-0-0 has no such field


@pytest.mark.parametrize(
    "bad",
    [event(event=5), event(user_id=None), event(properties=[1]), event(context="x")],
    ids=["number-for-text", "null-id", "list-for-object", "text-for-object"],
)
def test_a_vouched_batch_with_a_value_of_the_wrong_type_sets_that_event_aside(bad: dict) -> None:
    """A producer that vouches wrongly costs the one-by-one path, never a row of the wrong
    type handed to the writer (which could neither load it as sent nor call it bad data)."""
    good = event(event_id="g1")
    (decoded,) = decode_all([_batch([good, bad], True)])
    assert isinstance(decoded, Decoded)
    assert [r[0] for r in decoded.rows] == ["g1"] and len(decoded.invalid) == 1

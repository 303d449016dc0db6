import orjson
import pytest

import schemas
from loader.decode import COLUMNS, Invalid, decode


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

import orjson
import pytest

import schemas
from loader.decode import COLUMNS, Invalid, decode
from storage.migrations import discover


def event(**changes: object) -> dict:
    base = dict(dict(schemas.examples(schemas.EVENT))["valid_track.json"])
    base.update(changes)
    return base


def test_row_follows_the_column_order() -> None:
    row = dict(zip(COLUMNS, decode(orjson.dumps(event())), strict=True))
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
    row = dict(zip(COLUMNS, decode(orjson.dumps(minimal)), strict=True))
    assert row["group_id"] == "" and row["page_url"] == "" and row["sent_at"] == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"{nope", "not JSON"),
        (b"[1]", "JSON object"),
        (orjson.dumps(event(schema="journey/event/9-0-0")), "unknown schema"),
        (orjson.dumps(event(timestamp="yesterday")), "timestamp"),
        (orjson.dumps(event(colour="blue")), "colour"),
    ],
)
def test_invalid_messages_say_why(raw: bytes | None, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        decode(raw)


def test_columns_match_the_migrated_table_definition() -> None:
    # The loader's column list and migration 0001 must describe the same table.
    import importlib

    m = importlib.import_module("storage.migrations.0001_create_events")
    declared = [
        *m.TEXT_COLUMNS,
        "timestamp",
        "timestamp_ms",
        "original_timestamp",
        "sent_at",
        "received_at",
        "properties",
        "traits",
        "context",
        *m.CONTEXT_COLUMNS,
        "schema",
        "loaded_at",
    ]
    assert list(COLUMNS) == declared
    assert [mig.version for mig in discover()] == list(range(1, len(discover()) + 1))

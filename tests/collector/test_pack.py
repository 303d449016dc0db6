import orjson

import schemas
from collector.pack import MAX_MESSAGE_BYTES, pack


def test_large_groups_are_chunked_under_the_message_limit_in_order() -> None:
    events = [orjson.dumps({"event_id": f"e{i}", "blob": "x" * 30_000}) for i in range(40)]
    records = list(pack("t", {b"k": events}))
    assert len(records) > 1
    assert all(len(r.value) <= MAX_MESSAGE_BYTES and r.key == b"k" for r in records)
    ids = [e["event_id"] for r in records for e in orjson.loads(r.value)["events"]]
    assert ids == [f"e{i}" for i in range(40)]
    for r in records:
        schemas.validate(schemas.EVENT_BATCH, orjson.loads(r.value))

"""The same storage tests on the ClickHouse 18.16 server and on chDB."""

import pytest

from analyzer.events import deduplicated
from storage import migrations
from storage.store import Store

pytestmark = pytest.mark.integration


def test_migrations_build_the_schema_and_are_idempotent(store: Store) -> None:
    ran = migrations.apply(store)
    assert [m.version for m in ran] == [m.version for m in migrations.discover()]
    assert migrations.apply(store) == []
    assert migrations.pending(store) == []
    columns = dict(
        store.execute(
            "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = 'events'",
            {"db": store.database},
        )
    )
    assert columns["event_id"] == "String"
    assert columns["timestamp"] == "DateTime('UTC')"
    assert columns["timestamp_ms"] == "UInt64"
    engines = dict(
        store.execute(
            "SELECT name, engine FROM system.tables WHERE database = %(db)s",
            {"db": store.database},
        )
    )
    if not store.cluster:
        assert engines["events"] == "ReplacingMergeTree"
        assert "events_local" not in engines
        return
    # sharded: a Distributed table over replicated local tables, on every node
    sharded = ["events", "identity_links", "segment_members", "rfm_values", "propensity_scores"]
    for table in sharded:
        assert engines[table] == "Distributed", table
        assert engines[f"{table}_local"].startswith("Replicated"), table
    assert engines["events_local"] == "ReplicatedReplacingMergeTree"
    # replicated to every node, unsharded
    for table in ["segment_definitions", "alert_rules", "saved_reports", "journey_migrations"]:
        assert engines[table].startswith("Replicated"), table
        assert f"{table}_local" not in engines
    for node in store.nodes():
        tables = {
            r[0]
            for r in node.execute(
                "SELECT name FROM system.tables WHERE database = %(db)s", {"db": store.database}
            )
        }
        node.close()
        assert set(engines) == tables


def test_checked_add_column_on_an_existing_table(store: Store) -> None:
    migrations.apply(store)
    m = migrations.Migrator(store)
    m.add_column("events", "country", "String DEFAULT ''", after="ip")
    m.add_column("events", "country", "String DEFAULT ''", after="ip")  # no error the second time
    assert m.has_column("events", "country")
    for node in store.nodes():  # every node's local table and Distributed table has it
        assert migrations.Migrator(node).has_column("events", "country")
        if store.cluster:
            assert migrations.Migrator(node).has_column("events_local", "country")
        node.close()


def test_insert_and_read_back_with_duplicates_collapsed(store: Store) -> None:
    migrations.apply(store)
    cols = [
        "event_id",
        "type",
        "event",
        "anonymous_id",
        "timestamp",
        "timestamp_ms",
        "properties",
        "loaded_at",
    ]
    row = (
        "e1",
        "track",
        "Order Completed",
        "a1",
        1714564800,
        1714564800123,
        '{"revenue":12.5}',
        1714564900,
    )
    other = ("e2", "page", "Home", "a1", 1714564801, 1714564801000, "{}", 1714564900)
    store.insert("events", cols, [row, other])
    store.insert("events", cols, [row])  # a replay
    assert store.execute(f"SELECT count() FROM {store.database}.events")[0][0] == 3
    src = deduplicated(store.database, ["event", "properties"], "anonymous_id = %(a)s")
    result = store.execute(
        f"SELECT event, visitParamExtractFloat(properties, 'revenue') FROM {src} ORDER BY event",
        {"a": "a1"},
    )
    assert result == [("Home", 0.0), ("Order Completed", 12.5)]


def test_bound_parameters_cannot_inject(store: Store) -> None:
    hostile = "x' OR 1=1; DROP TABLE t --\\"
    assert store.execute("SELECT %(v)s", {"v": hostile}) == [(hostile,)]


def test_the_loaders_columns_are_the_migrated_tables(store: Store) -> None:
    """Migrations are history and the loader's COLUMNS the present: after every migration has
    run, the table must have exactly the columns the loader writes, in its order, and the keys
    the server computes at insert (migration 0009)."""
    from loader.decode import COLUMNS

    migrations.apply(store)
    rows = store.execute(
        "SELECT name, default_kind FROM system.columns WHERE database = %(db)s AND table = 'events'",
        {"db": store.database},
    )
    assert [name for name, kind in rows if not kind] == list(COLUMNS)
    assert [(name, kind) for name, kind in rows if kind] == [
        ("event_key", "DEFAULT"),
        ("identity_key", "DEFAULT"),
    ]
    assert [m.version for m in migrations.discover()] == list(
        range(1, len(migrations.discover()) + 1)
    )


def test_the_writer_leaves_out_text_columns_empty_in_every_row(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the loader leaves out of an insert reads back as what it would have sent: the
    omittable columns are plain text with no default of their own."""
    import orjson

    import schemas
    from loader.decode import COLUMNS, OMITTABLE, decode
    from loader.write import Writer

    migrations.apply(store)
    kinds = dict(
        store.execute(
            "SELECT name, concat(type, '|', default_kind) FROM system.columns "
            "WHERE database = %(db)s AND table = 'events'",
            {"db": store.database},
        )
    )
    assert {kinds[c] for c in OMITTABLE} == {"String|"}
    example = dict(schemas.examples(schemas.EVENT))["valid_track.json"]
    (row,) = decode(orjson.dumps({**example, "utm_term": "", "group_id": ""})).rows
    sent: list[list[str]] = []
    original = store.insert_columns

    def insert_columns(table: str, columns: list[str], data: list) -> None:  # type: ignore[type-arg]
        sent.append(list(columns))
        original(table, columns, data)

    monkeypatch.setattr(store, "insert_columns", insert_columns)  # the store is shared
    assert Writer(store, "events", COLUMNS, omit_empty=OMITTABLE).write([row]) == []
    assert "utm_term" not in sent[0] and "group_id" not in sent[0] and "page_path" in sent[0]
    times = {"timestamp", "original_timestamp", "sent_at", "received_at", "loaded_at"}
    kept = [i for i, c in enumerate(COLUMNS) if c not in times]  # datetimes come back as such
    back = store.execute(
        f"SELECT {', '.join(COLUMNS[i] for i in kept)} FROM {store.database}.events "
        "WHERE event_id = %(id)s",
        {"id": row[0]},
    )
    assert back == [tuple(row[i] for i in kept)]

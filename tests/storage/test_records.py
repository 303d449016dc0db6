"""Small shared tables of records: a machine's SQLite rows moved into the shared table once."""

from pathlib import Path

from storage.records import SqliteRecords, move_local

COLUMNS = ("key", "name", "revoked_at")


def test_local_rows_move_into_the_shared_table_once(tmp_path: Path) -> None:
    local = tmp_path / "keys.sqlite3"
    SqliteRecords(local, "write_keys", COLUMNS).put(
        [
            {"key": "k1", "name": "web", "revoked_at": ""},
            {"key": "k2", "name": "app", "revoked_at": ""},
        ]
    )
    shared = SqliteRecords(tmp_path / "shared.sqlite3", "write_keys", COLUMNS)
    shared.put([{"key": "k2", "name": "app", "revoked_at": "2026-01-01"}])  # shared wins
    move_local(local, "write_keys", shared)
    assert sorted((r["key"], r["revoked_at"]) for r in shared.all()) == [
        ("k1", ""),
        ("k2", "2026-01-01"),
    ]
    assert not local.exists() and (tmp_path / "keys.sqlite3.moved").exists()
    move_local(local, "write_keys", shared)  # nothing left to move
    assert len(shared.all()) == 2

"""Create the write keys and analysts' tokens tables: every collector and API process of a
deployment reads the same keys and tokens (replicated to every node of a cluster); a change is
a newer version of the row (storage.records)."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    for table, columns in (
        ("write_keys", ["key", "name", "created_at", "revoked_at", "origins"]),
        ("api_tokens", ["digest", "name", "created_at", "revoked_at"]),
    ):
        m.create_table(
            table,
            [f"{c} String" for c in columns] + ["version UInt64"],
            engine="ReplacingMergeTree(version)",
            order_by=columns[0],
        )

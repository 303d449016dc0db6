"""Create the saved reports table: a report's kind and parameters under a name, by version
(storage.versioned), so the dashboard and the API can run it again and link to it."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "saved_reports",
        [
            "name String",
            "version UInt32",
            "definition String",
            "created_at DateTime('UTC')",
        ],
        engine="MergeTree",
        order_by="(name, version)",
    )

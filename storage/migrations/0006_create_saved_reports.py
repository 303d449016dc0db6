"""Create the saved reports table: a report's kind and parameters under a name, by version
(storage.versioned), so the dashboard and the API can run it again and link to it."""

from storage import versioned
from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "saved_reports",
        list(versioned.DDL_COLUMNS),
        engine="MergeTree",
        order_by=versioned.DDL_ORDER,
    )

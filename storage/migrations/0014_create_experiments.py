"""Create the experiments table: experiment definitions (analyzer.experiments) by version
(storage.versioned); stopping one writes a version that ends it, so every result says which
definition it read."""

from storage import versioned
from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "experiments",
        list(versioned.DDL_COLUMNS),
        engine="MergeTree",
        order_by=versioned.DDL_ORDER,
    )

"""Create the touchpoint sets table: named sets of touchpoints (analyzer.touchpoints), by version
(storage.versioned), so a funnel, a journey map or a segment naming a set reads its latest
definition and every change is kept."""

from storage import versioned
from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "touchpoint_sets",
        list(versioned.DDL_COLUMNS),
        engine="MergeTree",
        order_by=versioned.DDL_ORDER,
    )

"""Create the alert tables: rules by version, every evaluation of every rule and scope (its
counts, verdict and the alert's state afterwards, so the latest row is the current state and
state changes are rows with ``changed``), and every delivery of a notice, good or failed."""

from storage import versioned
from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "alert_rules",
        list(versioned.DDL_COLUMNS),
        engine="MergeTree",
        order_by=versioned.DDL_ORDER,
    )
    m.create_table(
        "alert_evaluations",
        [
            "rule String",
            "version UInt32",
            "scope String",
            "at DateTime('UTC')",
            "window_from DateTime('UTC')",
            "window_to DateTime('UTC')",
            "entered UInt64",
            "converted UInt64",
            "rate Float64",
            "baseline_entered UInt64",
            "baseline_converted UInt64",
            "baseline_rate Float64",
            "p_value Float64",
            "outcome String",
            "reason String",
            "state String",
            "notified String",
            "changed UInt8",
            "since DateTime('UTC')",
            "last_fired_notice DateTime('UTC')",
            "notice String",
            "held String",
            "written_us UInt64",
        ],
        engine="MergeTree",
        partition_by="toYYYYMM(at)",
        order_by="(rule, scope, at)",
    )
    m.create_table(
        "alert_deliveries",
        [
            "rule String",
            "scope String",
            "at DateTime('UTC')",
            "notice String",
            "channel String",
            "target String",
            "attempts UInt32",
            "ok UInt8",
            "error String",
        ],
        engine="MergeTree",
        partition_by="toYYYYMM(at)",
        order_by="(rule, at)",
    )

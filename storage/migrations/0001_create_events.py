"""Create the events table: one row per event, replays collapsed by ReplacingMergeTree.

Partitioned by month; ordered by visitor then time so a journey is read from one place.
Background merges drop rows repeated by a replay (same key), but a merge is not a guarantee:
queries deduplicate on event_id themselves (analyzer.events.deduplicated).
"""

from storage.migrations.runner import Migrator

TEXT_COLUMNS = [
    "event_id",
    "type",
    "event",
    "anonymous_id",
    "user_id",
    "group_id",
    "previous_id",
]
CONTEXT_COLUMNS = [
    "page_url",
    "page_path",
    "page_title",
    "page_referrer",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "click_id_type",
    "click_id",
    "user_agent",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "locale",
    "timezone",
    "library_name",
    "library_version",
    "ip",
    "session_id",
    "source",
]


def forwards(m: Migrator) -> None:
    columns = (
        [f"{c} String" for c in TEXT_COLUMNS]
        + [
            "timestamp DateTime('UTC')",
            "timestamp_ms UInt64",
            "original_timestamp DateTime('UTC')",
            "sent_at DateTime('UTC')",
            "received_at DateTime('UTC')",
            "properties String",
            "traits String",
            "context String",
        ]
        + [f"{c} String" for c in CONTEXT_COLUMNS]
        + [
            "schema String",
            "loaded_at DateTime('UTC')",
        ]
    )
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.events (\n    "
        + ",\n    ".join(columns)
        + "\n) ENGINE = ReplacingMergeTree(loaded_at)\n"
        "PARTITION BY toYYYYMM(timestamp)\n"
        "ORDER BY (anonymous_id, user_id, timestamp, event_id)"
    )

"""Create the events table: one row per event, replays collapsed by ReplacingMergeTree.

Partitioned by month; ordered by visitor then time so a journey is read from one place; on a
cluster, sharded by visitor (storage.cluster).
Background merges drop rows repeated by a replay (same key), but a merge is not a guarantee:
queries deduplicate on event_id themselves (analyzer.events.deduplicated).
"""

from storage.migrations.runner import Migrator

# On a cluster: the shard of an event. One visitor's events, and every replay of an event,
# land on one shard; server-side events with no anonymous id go by their user id.
VISITOR = "cityHash64(if(anonymous_id != '', anonymous_id, user_id))"

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
    m.create_table(
        "events",
        columns,
        engine="ReplacingMergeTree(loaded_at)",
        partition_by="toYYYYMM(timestamp)",
        order_by="(anonymous_id, user_id, timestamp, event_id)",
        shard_by=VISITOR,
    )

"""Create the scorecard and personalization tables: advertising spend per day and campaign
(imported from CSV; a re-import of a day replaces it), and the public segments of each website
visitor as of a refresh (what the collector's personalization cache is built from)."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "campaign_spend",
        [
            "day Date",
            "utm_source String",
            "utm_medium String",
            "utm_campaign String",
            "spend Float64",
            "currency String",
            "imported_at DateTime('UTC')",
            "import_us UInt64",
            "file String",
        ],
        engine="ReplacingMergeTree(import_us)",
        order_by="(day, utm_source, utm_medium, utm_campaign)",
    )
    # One version per publication (its id is the refresh's); a row per visitor and source with
    # at least one public segment, and one row with an empty anonymous_id marking the version.
    m.create_table(
        "public_segments",
        [
            "version UInt64",
            "source String",
            "anonymous_id String",
            "segments Array(String)",
        ],
        engine="MergeTree",
        order_by="(version, source, anonymous_id)",
        shard_by="cityHash64(anonymous_id)",
    )

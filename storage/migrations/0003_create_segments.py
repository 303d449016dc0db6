"""Create the segment tables: definitions by version, and every refresh's membership, kept.

A refresh is identified by its moment in milliseconds (``refresh``). Membership is written as
a whole snapshot per refresh, with one row per person of the customer base under the segment
'' (the base), so sizes, shares and movement between any two refreshes can be read back.
RFM values and propensity scores of a refresh are kept beside it.
"""

from storage.migrations.runner import Migrator

PARTITION = "PARTITION BY toYYYYMM(toDateTime(intDiv(refresh, 1000)))"


def forwards(m: Migrator) -> None:
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.segment_definitions ("
        "name String, version UInt32, definition String, created_at DateTime('UTC')"
        ") ENGINE = MergeTree ORDER BY (name, version)"
    )
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.segment_refreshes ("
        "refresh UInt64, segment String, version UInt32, kind String, members UInt64, "
        "base UInt64, took_ms UInt64, details String"
        ") ENGINE = MergeTree ORDER BY (segment, refresh)"
    )
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.segment_members ("
        "refresh UInt64, segment String, person_id String"
        f") ENGINE = MergeTree {PARTITION} ORDER BY (refresh, segment, person_id)"
    )
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.rfm_values ("
        "refresh UInt64, segment String, person_id String, recency_days UInt32, "
        "frequency UInt64, monetary Float64"
        f") ENGINE = MergeTree {PARTITION} ORDER BY (refresh, segment, person_id)"
    )
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.propensity_scores ("
        "refresh UInt64, segment String, person_id String, score Float64"
        f") ENGINE = MergeTree {PARTITION} ORDER BY (refresh, segment, person_id)"
    )

"""Create the segment tables: definitions by version, and every refresh's membership, kept.

A refresh is identified by its moment in milliseconds (``refresh``). Membership is written as
a whole snapshot per refresh, with one row per person of the customer base under the segment
'' (the base), so sizes, shares and movement between any two refreshes can be read back.
RFM values and propensity scores of a refresh are kept beside it.
"""

from storage import versioned
from storage.migrations.runner import Migrator

PARTITION = "toYYYYMM(toDateTime(intDiv(refresh, 1000)))"
PERSON = "cityHash64(person_id)"  # on a cluster, the shard of a person's rows


def forwards(m: Migrator) -> None:
    m.create_table(
        "segment_definitions",
        list(versioned.DDL_COLUMNS),
        engine="MergeTree",
        order_by=versioned.DDL_ORDER,
    )
    m.create_table(
        "segment_refreshes",
        [
            "refresh UInt64",
            "segment String",
            "version UInt32",
            "kind String",
            "members UInt64",
            "base UInt64",
            "took_ms UInt64",
            "details String",
        ],
        engine="MergeTree",
        order_by="(segment, refresh)",
    )
    m.create_table(
        "segment_members",
        [
            "refresh UInt64",
            "segment String",
            "person_id String",
        ],
        engine="MergeTree",
        partition_by=PARTITION,
        order_by="(refresh, segment, person_id)",
        shard_by=PERSON,
    )
    m.create_table(
        "rfm_values",
        [
            "refresh UInt64",
            "segment String",
            "person_id String",
            "recency_days UInt32",
            "frequency UInt64",
            "monetary Float64",
        ],
        engine="MergeTree",
        partition_by=PARTITION,
        order_by="(refresh, segment, person_id)",
        shard_by=PERSON,
    )
    m.create_table(
        "propensity_scores",
        [
            "refresh UInt64",
            "segment String",
            "person_id String",
            "score Float64",
        ],
        engine="MergeTree",
        partition_by=PARTITION,
        order_by="(refresh, segment, person_id)",
        shard_by=PERSON,
    )

"""Create the privacy tables: every erasure request (what was asked, how many rows it removed from
which table, when it finished) and the suppressed ids the loader refuses to load again.

Ids are kept only as SHA-256 digests: enough to recognise a replayed event of an erased person,
never enough to read who they were.
"""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "privacy_requests",
        [
            "request_id String",
            "kind String",
            "id_kind String",
            "id_digest String",
            "requested_at DateTime('UTC')",
            "finished_at DateTime('UTC')",
            "ids_erased UInt32",
            "rows_deleted String",
            "remaining UInt64",
            "operator String",
        ],
        engine="MergeTree",
        order_by="(requested_at, request_id)",
    )
    m.create_table(
        "suppressed_ids",
        [
            "id_digest String",
            "request_id String",
            "at DateTime('UTC')",
        ],
        engine="ReplacingMergeTree(at)",
        order_by="id_digest",
    )

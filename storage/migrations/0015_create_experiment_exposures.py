"""Create the experiment exposures table: published with the public segments (same version),
the variant each website visitor's person was first shown in each running experiment, for every
anonymous id of that person, so another device of theirs keeps the variant (what the
collector's personalization cache is built from)."""

from storage.migrations.runner import Migrator


def forwards(m: Migrator) -> None:
    m.create_table(
        "experiment_exposures",
        [
            "version UInt64",
            "anonymous_id String",
            "experiment String",
            "variant String",
        ],
        engine="MergeTree",
        order_by="(version, anonymous_id, experiment)",
        shard_by="cityHash64(anonymous_id)",
    )

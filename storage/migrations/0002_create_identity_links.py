"""Create identity_links: the first user each anonymous or aliased id was linked to, kept current.

Stitching reads links on every query; computing them from the whole events table each time
cost more than the analysis itself. Two materialized views fold each inserted block into an
AggregatingMergeTree of argMin states (one per id), so a query merges a table the size of the
identified ids. Links come from events carrying both an anonymous id and a user id (identify,
and anything sent after it) and from ``alias`` (previous_id -> user_id). Existing events are
folded in once; running that again only repeats states argMin already merges away.
One view per kind of link: old servers reject a view over a subquery or a UNION. On a cluster
the views run on every node, from its local events into its local links; a query merges the
links of every shard.
"""

from storage.migrations.runner import Migrator

ANONYMOUS = "anonymous_id != '' AND user_id != '' AND anonymous_id != user_id"
ALIAS = "type = 'alias' AND previous_id != '' AND user_id != '' AND previous_id != user_id"


def forwards(m: Migrator) -> None:
    m.create_table(
        "identity_links",
        ["id String", "target AggregateFunction(argMin, String, UInt64)"],
        engine="AggregatingMergeTree",
        order_by="id",
        shard_by="cityHash64(id)",
    )
    selects = {
        "identity_links_anonymous": (
            "SELECT anonymous_id AS id, argMinState(user_id, timestamp_ms) AS target "
            f"FROM {{source}} WHERE {ANONYMOUS} GROUP BY anonymous_id"
        ),
        "identity_links_alias": (
            "SELECT previous_id AS id, argMinState(user_id, timestamp_ms) AS target "
            f"FROM {{source}} WHERE {ALIAS} GROUP BY previous_id"
        ),
    }
    for view, select in selects.items():
        m.create_materialized_view(view, "identity_links", "events", select)
    # after the views exist, so no block falls between the two
    for select in selects.values():
        m.execute("INSERT INTO {db}.identity_links " + select.replace("{source}", "{db}.events"))

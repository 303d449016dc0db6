"""Identity stitching: which person each event belongs to, retroactively.

Links come from the events themselves: an event carrying both an anonymous id and a user id
links the anonymous id to that user (identify, and anything sent after it); ``alias`` links
``previous_id`` (an anonymous id or a former user id) to ``user_id``. Each id keeps its first
link in time. An event's person is its user id, else its anonymous id, followed through up to
two links (anonymous id -> user -> aliased user). So what a visitor did before signing up, and
on another device before logging in there, joins the person, whenever the link was loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.events import deduplicated
from storage.sql import identifier


def links(database: str) -> str:
    """A subquery (id, target): the first user each anonymous or aliased id was linked to."""
    src = deduplicated(database, ["type", "anonymous_id", "user_id", "previous_id", "timestamp_ms"])
    return (
        "(SELECT id, argMin(target, at) AS target FROM ("
        f"SELECT anonymous_id AS id, user_id AS target, timestamp_ms AS at FROM {src} "
        "WHERE anonymous_id != '' AND user_id != '' AND anonymous_id != user_id "
        "UNION ALL "
        f"SELECT previous_id AS id, user_id AS target, timestamp_ms AS at FROM {src} "
        "WHERE type = 'alias' AND previous_id != '' AND user_id != '' AND previous_id != user_id"
        ") GROUP BY id)"
    )


def with_person(database: str, columns: Sequence[str], where: str = "1") -> str:
    """A subquery of deduplicated events with ``columns`` and ``person_id``.

    Old ClickHouse servers allow one JOIN per SELECT, hence one nesting level per link hop.
    """
    cols = list(dict.fromkeys(["event_id", *columns]))
    needed = list(dict.fromkeys([*cols, "anonymous_id", "user_id"]))
    plain = ", ".join(identifier(c) for c in cols)
    src = deduplicated(database, needed, where)
    hop0 = f"(SELECT {plain}, if(user_id != '', user_id, anonymous_id) AS key0 FROM {src})"
    hop1 = (
        f"(SELECT {plain}, if(t1 != '', t1, key0) AS key1 FROM {hop0} AS h0 "
        f"ANY LEFT JOIN (SELECT id AS key0, target AS t1 FROM {links(database)}) AS l1 USING key0)"
    )
    return (
        f"(SELECT {plain}, if(t2 != '', t2, key1) AS person_id FROM {hop1} AS h1 "
        f"ANY LEFT JOIN (SELECT id AS key1, target AS t2 FROM {links(database)}) AS l2 USING key1)"
    )

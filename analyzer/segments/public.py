"""Public segments: which of a website visitor's segments the website may learn.

A definition with ``public: true`` (or a list of sources) may be told to the website through
the collector (collector.personalize). After every refresh, ``publish`` writes, as one new
version of the ``public_segments`` table, each visitor's public segments: a row per anonymous id
and source (the write key's source that sent the visitor's events) with the members' segments
at their latest refresh. A person stitched from several devices is a member on each of them.

Only anonymous ids are published, never user ids: an anonymous id is a random value held by
the visitor's own browser, while a user id may be guessed, and the endpoint must not tell one
visitor about another. Segments limited to some sources are only told through their keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analyzer.experiments import published as exposed
from analyzer.identity import KEY, stitched
from analyzer.membership import members_sql, refreshed
from analyzer.query import Query
from analyzer.segments.catalog import stored
from storage.cluster import on_cluster, rows_of
from storage.sql import identifier
from storage.store import Store

TABLE = "public_segments"
COLUMNS = ("version", "source", "anonymous_id", "segments")


def public_definitions(store: Store) -> dict[str, tuple[str, ...]]:
    """Public segment families: name -> the sources allowed (() for any)."""
    return {
        name: s.definition.public
        for name, s in stored(store).items()
        if s.definition.public is not None
    }


def publish_sql(database: str, scopes: dict[str, tuple[str, ...]]) -> tuple[str, dict[str, Any]]:
    """The SELECT of a new version's visitor rows (``version`` is ``%(version)s``)."""
    db = identifier(database)
    query = Query()
    members = members_sql(database, sorted(scopes), query)
    visitors = stitched(
        database,
        f"(SELECT source, anonymous_id, {KEY} AS key0 FROM {db}.events "
        "WHERE anonymous_id != '' GROUP BY source, anonymous_id, key0)",
        ["source", "anonymous_id"],
    )
    allowed = []
    for i, (name, sources) in enumerate(sorted(scopes.items())):
        if not sources:
            continue
        scope, group = query.bind(f"scope{i}", name), query.bind(f"scope{i}g", name + "/")
        sources_of = query.bind(f"scope{i}s", list(sources))
        allowed.append(
            f"(NOT (s = {scope} OR startsWith(s, {group})) OR has({sources_of}, source))"
        )
    keep = " AND ".join(allowed) or "1"
    # ALL: members has one row per person, and visitors several per person (newer servers'
    # ANY INNER JOIN would keep one visitor per person).
    sql = f"""SELECT toUInt64(%(version)s), source, anonymous_id,
              arraySort(groupUniqArrayArray(visible)) AS segments
        FROM (SELECT source, anonymous_id, arrayFilter(s -> {keep}, segs) AS visible
              FROM {visitors} AS v ALL INNER JOIN {members} AS m USING person_id)
        WHERE notEmpty(visible)
        GROUP BY source, anonymous_id"""
    return sql, query.values


def publish(store: Store, version: int) -> int:
    """Write version ``version`` of every visitor's public segments; visitors written.

    Versions older than the one before are deleted: a collector reading the previous version
    while this one is written still finds it."""
    db = identifier(store.database)
    # the variants already shown first, so a collector seeing this version finds them too
    exposed.publish(store, version, datetime.now(UTC))
    scopes = public_definitions(store)
    done = refreshed(store)  # a segment never refreshed has nothing to tell
    names = [n for n in sorted(scopes) if n in done]
    written = 0
    if names:
        sql, params = publish_sql(store.database, {n: scopes[n] for n in names})
        store.execute(
            f"INSERT INTO {db}.{TABLE} ({', '.join(COLUMNS)}) {sql}",
            {**params, "version": version},
        )
        (written,) = store.execute(
            f"SELECT count() FROM {db}.{TABLE} WHERE version = %(v)s", {"v": version}
        )[0]
    store.insert(TABLE, COLUMNS, [(version, "", "", [])])  # the version exists, even empty
    older = store.execute(
        f"SELECT DISTINCT version FROM {db}.{TABLE} WHERE version < %(v)s "
        "ORDER BY version DESC LIMIT 1",
        {"v": version},
    )
    if older:
        for table in (TABLE, exposed.TABLE):
            store.execute(
                f"ALTER TABLE {rows_of(store, table)}{on_cluster(store)} DELETE "
                "WHERE version < %(keep)s",
                {"keep": int(older[0][0])},
            )
    return int(written)


def latest_version(store: Store) -> tuple[int, int]:
    """(the newest version, its visitor rows), or (0, 0) before the first publication."""
    rows = store.execute(
        f"SELECT version, count() - 1 FROM {identifier(store.database)}.{TABLE} "
        f"WHERE version = (SELECT max(version) FROM {identifier(store.database)}.{TABLE}) "
        "GROUP BY version"
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def visitors(store: Store, version: int) -> list[tuple[str, str, list[str]]]:
    """(source, anonymous id, segments) of every visitor of ``version``."""
    rows = store.execute(
        f"SELECT source, anonymous_id, segments FROM {identifier(store.database)}.{TABLE} "
        "WHERE version = %(v)s AND anonymous_id != ''",
        {"v": version},
    )
    return [(str(s), str(a), [str(x) for x in segs]) for s, a, segs in rows]


def segments_of(store: Store, source: str, anonymous_id: str) -> list[str]:
    """The public segments of one visitor, read from the store (the collector reads its cache)."""
    version, _ = latest_version(store)
    rows = store.execute(
        f"SELECT segments FROM {identifier(store.database)}.{TABLE} "
        "WHERE version = %(v)s AND source = %(s)s AND anonymous_id = %(a)s",
        {"v": version, "s": source, "a": anonymous_id},
    )
    return [str(x) for x in rows[0][0]] if rows else []

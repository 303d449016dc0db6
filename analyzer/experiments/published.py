"""The variants already shown, published for the website: for each person exposed to a running
experiment, the variant of their first exposure, under every anonymous id of theirs. A device
first seen after the person identified on it gets the variant the person already has, not the
one the hash would give its own id (analyzer.experiments.assignment.assign).

Written by analyzer.segments.public.publish with the public segments' version, before them, so
a collector that sees the version finds both complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analyzer.events import NOT_BOT
from analyzer.experiments.analysis import exposure_sql
from analyzer.experiments.catalog import stored
from analyzer.experiments.definition import EXPOSURE_EVENT
from analyzer.identity import KEY, stitched, with_person
from analyzer.query import Query
from storage.sql import identifier
from storage.store import Store

TABLE = "experiment_exposures"
COLUMNS = ("version", "anonymous_id", "experiment", "variant")


def publish_sql(database: str, keys: list[str]) -> tuple[str, dict[str, Any]]:
    """The SELECT of a version's rows (``version`` is ``%(version)s``)."""
    db = identifier(database)
    query = Query({"xe_event": EXPOSURE_EVENT, "xe_keys": keys})
    key, variant = exposure_sql(query)
    exposures = with_person(
        database,
        ["timestamp_ms", "property_paths"],
        f"type = 'track' AND event = %(xe_event)s AND {NOT_BOT}",
    )
    # (old servers resolve an output alias inside WHERE: the inner columns have other names)
    firsts = (
        "(SELECT person_id, xk AS experiment, argMin(xv, timestamp_ms) AS variant FROM "
        f"(SELECT person_id, timestamp_ms, {key} AS xk, {variant} AS xv FROM {exposures}) "
        "WHERE has(%(xe_keys)s, xk) AND xv != '' GROUP BY person_id, xk)"
    )
    visitors = stitched(
        database,
        f"(SELECT anonymous_id, {KEY} AS key0 FROM {db}.events WHERE anonymous_id != '' "
        "GROUP BY anonymous_id, key0)",
        ["anonymous_id"],
    )
    sql = (
        # DISTINCT: an id seen before and after its identify comes once per key
        "SELECT DISTINCT toUInt64(%(version)s), anonymous_id, experiment, variant "
        f"FROM {visitors} AS v ALL INNER JOIN {firsts} AS x USING person_id"
    )
    return sql, query.values


def publish(store: Store, version: int, now: datetime) -> int:
    """Write version ``version``: the running experiments' exposures; rows written."""
    keys = sorted(k for k, s in stored(store).items() if s.status(now) == "running")
    if not keys:
        return 0
    db = identifier(store.database)
    sql, params = publish_sql(store.database, keys)
    store.execute(
        f"INSERT INTO {db}.{TABLE} ({', '.join(COLUMNS)}) {sql}", {**params, "version": version}
    )
    ((written,),) = store.execute(
        f"SELECT count() FROM {db}.{TABLE} WHERE version = %(v)s", {"v": version}
    )
    return int(written)


def exposures(store: Store, version: int) -> list[tuple[str, str, str]]:
    """(anonymous id, experiment, variant) of every row of ``version``."""
    rows = store.execute(
        f"SELECT anonymous_id, experiment, variant FROM {identifier(store.database)}.{TABLE} "
        "WHERE version = %(v)s",
        {"v": version},
    )
    return [(str(a), str(e), str(v)) for a, e, v in rows]

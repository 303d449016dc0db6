"""Current membership as SQL, for analyses that filter or break down by segment.

A name is a segment (``young``), a family (``rfm``: all its groups) or one group of it
(``rfm/Champions``). Membership is read at the latest refresh of the family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analyzer.errors import SpecError
from storage.sql import identifier
from storage.store import Store


def members_sql(database: str, names: Sequence[str], params: dict[str, Any], prefix: str) -> str:
    """A subquery ``person_id, segs``: the segments of ``names`` each member belongs to."""
    db = identifier(database)
    parts = []
    for i, name in enumerate(names):
        key = f"{prefix}{i}"
        params[key] = name
        params[f"{key}g"] = name + "/"
        params[f"{key}f"] = name.split("/", 1)[0]
        parts.append(
            f"((segment = %({key})s OR startsWith(segment, %({key}g)s)) AND "
            f"refresh = (SELECT max(refresh) FROM {db}.segment_refreshes "
            f"WHERE segment = %({key}f)s))"
        )
    return (
        f"(SELECT person_id, groupUniqArray(segment) AS segs FROM {db}.segment_members "
        f"WHERE {' OR '.join(parts)} GROUP BY person_id)"
    )


def only_members(database: str, name: str | None, params: dict[str, Any]) -> str:
    """SQL condition on ``person_id``: a member of ``name`` (``1`` when there is no segment)."""
    if name is None:
        return "1"
    return f"person_id IN (SELECT person_id FROM {members_sql(database, [name], params, 'only')})"


def refreshed(store: Store) -> set[str]:
    """The segments (families) that have a refreshed membership."""
    rows = store.execute(
        f"SELECT DISTINCT segment FROM {identifier(store.database)}.segment_refreshes"
    )
    return {str(r[0]) for r in rows}


def check_refreshed(store: Store, names: Sequence[str]) -> None:
    """Refuse segments that have never been refreshed: an analysis over them would be empty."""
    for name in names:
        family = name.split("/", 1)[0]
        rows = store.execute(
            f"SELECT count() FROM {identifier(store.database)}.segment_refreshes "
            "WHERE segment = %(s)s",
            {"s": family},
        )
        if not rows[0][0]:
            raise SpecError(
                f"segment: {name!r} has no refreshed membership; "
                f"run `journey segments refresh {family}`"
            )


def restrict(source: str, database: str, name: str | None, params: dict[str, Any]) -> str:
    """``source`` (a subquery with ``person_id``) keeping only the members of ``name``."""
    if name is None:
        return source
    return f"(SELECT * FROM {source} WHERE {only_members(database, name, params)})"

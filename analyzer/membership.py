"""Current membership as SQL, for analyses that filter or break down by segment.

A name is a segment (``young``), a family (``rfm``: all its groups) or one group of it
(``rfm/Champions``). Membership is read at the latest refresh of the family.

Members are kept by person id. Person timelines (analyzer.timeline) carry the id's hash
(``person``) and read the id itself only when asked, because the id's text costs more than the
rest of the grouping; so with ``hashed`` members come as that hash, ``cityHash64(person_id)``,
and analyses join or filter on it without reading any id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analyzer.errors import SpecError
from analyzer.query import Query
from analyzer.vocabulary import Breakdown
from storage.sql import identifier
from storage.store import Store


def members_sql(database: str, names: Sequence[str], query: Query, hashed: bool = False) -> str:
    """A subquery ``person_id, segs``: the segments of ``names`` each member belongs to; with
    ``hashed``, ``person, segs`` (the id's hash, as timelines give ``person``)."""
    db = identifier(database)
    parts = []
    for name in names:
        exact, group = query.add(name, "seg"), query.add(name + "/", "seg")
        family = query.add(name.split("/", 1)[0], "seg")
        parts.append(
            f"((segment = {exact} OR startsWith(segment, {group})) AND "
            f"refresh = (SELECT max(refresh) FROM {db}.segment_refreshes "
            f"WHERE segment = {family}))"
        )
    # with ``hashed``, grouped by the id's hash: integers group faster than the id texts
    person = "cityHash64(person_id) AS person" if hashed else "person_id"
    return (
        f"(SELECT {person}, groupUniqArray(segment) AS segs FROM {db}.segment_members "
        f"WHERE {' OR '.join(parts)} GROUP BY {'person' if hashed else 'person_id'})"
    )


def only_members(database: str, name: str | None, query: Query) -> str:
    """SQL condition on ``person`` (the hash of the person's id, as timelines give it): a
    member of ``name`` (``1`` when there is no segment)."""
    if name is None:
        return "1"
    members = members_sql(database, [name], query, hashed=True)
    return f"person IN (SELECT person FROM {members})"


def refreshed(store: Store) -> set[str]:
    """The segments (families) that have a refreshed membership."""
    rows = store.execute(
        f"SELECT DISTINCT segment FROM {identifier(store.database)}.segment_refreshes"
    )
    return {str(r[0]) for r in rows}


def check_refreshed(store: Store, named: Mapping[str, str | None]) -> None:
    """Refuse segments that have never been refreshed: an analysis over them would be empty.
    ``named``: the specification's field naming each segment (``segment``,
    ``breakdown.segments[0]``), which the error names; None is no segment."""
    for where, name in named.items():
        if name is None:
            continue
        family = name.split("/", 1)[0]
        rows = store.execute(
            f"SELECT count() FROM {identifier(store.database)}.segment_refreshes "
            "WHERE segment = %(s)s",
            {"s": family},
        )
        if not rows[0][0]:
            raise SpecError(
                where,
                f"{name!r} has no refreshed membership; run `journey segments refresh {family}`",
            )


def restrict(source: str, database: str, name: str | None, query: Query) -> str:
    """``source`` (a subquery with ``person``) keeping only the members of ``name``."""
    if name is None:
        return source
    return f"(SELECT * FROM {source} WHERE {only_members(database, name, query)})"


def named_segments(segment: str | None, breakdown: Breakdown | None) -> dict[str, str | None]:
    """The segments a specification reads (its members only, a breakdown by segments), by the
    field naming each: what check_refreshed takes."""
    named: dict[str, str | None] = {"segment": segment}
    if breakdown is not None:  # segments are only given with the field "segment"
        named |= listed("breakdown.segments", breakdown.segments)
    return named


def listed(field: str, names: Sequence[str]) -> dict[str, str | None]:
    """Each of ``names`` by its place in the list ``field``: ``segments[0]``, ..."""
    return {f"{field}[{i}]": name for i, name in enumerate(names)}

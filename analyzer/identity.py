"""Identity stitching: which person each event belongs to, retroactively.

Links come from the events themselves: an event carrying both an anonymous id and a user id
links the anonymous id to that user (identify, and anything sent after it); ``alias`` links
``previous_id`` (an anonymous id or a former user id) to ``user_id``. Each id keeps its first
link in time. An event's person is its user id, else its anonymous id, followed through up to
two links (anonymous id -> user -> aliased user). So what a visitor did before signing up, and
on another device before logging in there, joins the person, whenever the link was loaded.

The links are kept by the ``identity_links`` table (migration 0002), folded in at insert time.
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.events import deduplicated
from storage.sql import identifier

KEY = "if(user_id != '', user_id, anonymous_id)"


def links(database: str) -> str:
    """A subquery (id, target): the first user each anonymous or aliased id was linked to."""
    return (
        "(SELECT id, argMinMerge(target) AS target "
        f"FROM {identifier(database)}.identity_links GROUP BY id)"
    )


def resolved(database: str) -> str:
    """A subquery (id, person): the person each linked id belongs to, both hops (anonymous id
    -> user -> aliased user) followed on the links alone."""
    return (
        "(SELECT id, if(t2 != '', t2, t1) AS person "
        f"FROM (SELECT id, target AS t1 FROM {links(database)}) AS a "
        f"ANY LEFT JOIN (SELECT id AS t1, target AS t2 FROM {links(database)}) AS b USING t1)"
    )


# An event's person hash once it is joined to ``persons`` on ``identity_key``: the linked
# person's, else its own identity's.
PERSON = "if(linked_person != 0, linked_person, identity_key)"


def persons(database: str, ids: bool = False) -> str:
    """A subquery ``identity_key, linked_person`` (and ``linked_id`` with ``ids``): the person of
    every linked identity key, as the hash of its id (``events.identity_key``, migration 0009)."""
    return (
        "(SELECT cityHash64(id) AS identity_key, cityHash64(person) AS linked_person"
        f"{', person AS linked_id' if ids else ''} FROM {resolved(database)})"
    )


def stitched(database: str, source: str, columns: Sequence[str]) -> str:
    """``source`` (a subquery with ``key0`` = user id else anonymous id, and ``columns``) with
    ``person_id`` added: one join, to the links with both hops resolved."""
    plain = ", ".join(identifier(c) for c in columns)
    return (
        f"(SELECT {plain}, if(linked != '', linked, key0) AS person_id FROM {source} AS h0 "
        f"ANY LEFT JOIN (SELECT id AS key0, person AS linked FROM {resolved(database)}) AS l "
        "USING key0)"
    )


def with_person(database: str, columns: Sequence[str], where: str = "1") -> str:
    """A subquery of deduplicated events with ``columns`` and ``person_id``, one row per event.

    For event-level reads; analyses over many events use ``analyzer.timeline``, which groups
    before it joins."""
    cols = list(dict.fromkeys(["event_id", *columns]))
    needed = list(dict.fromkeys([*cols, "anonymous_id", "user_id"]))
    plain = ", ".join(identifier(c) for c in cols)
    src = f"(SELECT {plain}, {KEY} AS key0 FROM {deduplicated(database, needed, where)})"
    return stitched(database, src, cols)

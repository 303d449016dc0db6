"""Person timelines: each person's events as aligned arrays, in time order, each event once.

Every journey analysis (funnels, paths, retention, pain points) is a computation over one
person's events in order, so they share this one subquery::

    person UInt64, [person_id String,] times Array(UInt64 ms), and one array per field

``person`` is the hash of the person's id (their user id, or the anonymous id of a visitor
never identified); ``person_id`` itself is read only when asked for (``ids=True``), because
reading the id strings costs more than the rest of the grouping. Two people would have to
share a 64-bit hash to be counted as one.

Each event meets the identity links once (``analyzer.identity.persons``: both hops resolved
on the links) through its stored ``identity_key``, and events are grouped per person in one
pass. Order is (timestamp_ms, event_key) packed into one UInt64 sort key: the time in its top
42 bits (milliseconds up to the year 2106, where DateTime ends) and the event id hash's top
22 bits below it, so events at the same millisecond keep one deterministic order (the same as
ordering by the full hash, unless two of them share those 22 bits). Sorting one integer per
event instead of tuples is what makes this fast. Each event counts once: copies left by
replays share the event id and so its ``event_key``, and the first copy in that order is kept.

A field of 16 bits (a funnel's step flags) can ride in the low bits of that key instead of an
array of its own (``flags``): one array fewer to group, sort and filter. The copies of an event
carry the same flags, so they still share a key; two events of one person would have to share
the top 48 bits of their id hashes and their flags to be taken for copies.
"""

from __future__ import annotations

from collections.abc import Mapping

from analyzer.events import humans
from analyzer.identity import KEY, PERSON, persons
from storage.sql import identifier

TIE_BITS = 22
ORDER = f"timestamp_ms * {1 << TIE_BITS} + bitShiftRight(event_key, {64 - TIE_BITS})"
FLAG_BITS = 16
WITHOUT_FLAGS = ((1 << 64) - 1) ^ ((1 << FLAG_BITS) - 1)  # the key's top 48 bits


def timelines(
    database: str,
    fields: Mapping[str, str],
    where: str,
    ids: bool = True,
    flags: tuple[str, str] | None = None,
    include_bots: bool = False,
) -> str:
    """A subquery of ``person`` (and ``person_id`` with ``ids``), ``times`` and one array per
    entry of ``fields`` (and of ``flags``: a name and an SQL UInt16, carried in the key).

    ``fields`` maps an output name to an SQL expression over event columns; ``where`` selects
    the events (never a bot's, unless ``include_bots``). Both are code-built; their values are
    ``%(name)s`` parameters."""
    names = [identifier(n) for n in fields]
    picked = "".join(
        f", {expr} AS _f_{name}" for name, expr in zip(names, fields.values(), strict=True)
    )
    id_column = f", {KEY} AS _id" if ids else ""
    key = "event_key"
    if flags:
        key = f"bitOr(bitAnd(event_key, {WITHOUT_FLAGS}), toUInt16({flags[1]}))"
    events = (
        f"(SELECT identity_key, {ORDER} AS _o, {key} AS _k{picked}{id_column} "
        f"FROM {identifier(database)}.events WHERE ({where}) AND {humans(include_bots)})"
    )
    carried = "".join(f", _f_{n}" for n in names)
    pid = ", if(linked_id != '', linked_id, _id) AS _pid" if ids else ""
    joined = (
        f"(SELECT {PERSON} AS person, _o, _k"
        f"{carried}{pid} FROM {events} AS e "
        f"ANY LEFT JOIN {persons(database, ids)} AS p USING identity_key)"
    )
    grouped = (
        f"(SELECT person{', any(_pid) AS person_id' if ids else ''}, groupArray(_o) AS _go, "
        f"groupArray(_k) AS _gk{''.join(f', groupArray(_f_{n}) AS _g_{n}' for n in names)} "
        f"FROM {joined} GROUP BY person)"
    )
    # Old servers drop a column used only inside a lambda: arrays enter lambdas as arguments.
    first = "arrayFilter((x, f) -> f = 1, {}, _first)"
    aligned = "".join(
        f", {first.format(f'arraySort((x, o) -> o, _g_{n}, _go)')} AS {n}" for n in names
    )
    if flags:
        mask = (1 << FLAG_BITS) - 1
        aligned += f", arrayMap(k -> toUInt16(bitAnd(k, {mask})), {first.format('_sk')}) AS {identifier(flags[0])}"
    return (
        f"(SELECT person{', person_id' if ids else ''}, "
        "arraySort((k, o) -> o, _gk, _go) AS _sk, arrayEnumerateUniq(_sk) AS _first, "
        f"arrayMap(o -> bitShiftRight(o, {TIE_BITS}), {first.format('arraySort(_go)')}) AS times"
        f"{aligned} FROM {grouped})"
    )

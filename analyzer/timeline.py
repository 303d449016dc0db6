"""Person timelines: each person's events as aligned arrays, in time order, each event once.

Every journey analysis (funnels, paths, retention, pain points) is a computation over one
person's events in order, so they share this one subquery::

    person_id, times Array(UInt64 ms), and one array per requested field

Events are grouped per identity key (user id, else anonymous id) first, then the far fewer
groups are joined to the identity links and merged per person: joining groups instead of
events is what keeps this fast on tens of millions of events.

Order is (timestamp_ms, cityHash64(event_id)): events at the same millisecond keep one
deterministic order. Each event counts once: copies left by replays share the event id and
so its hash, and the first copy in that order is kept. (Two different ids of one person would
have to share a 64-bit hash to be confused.)
"""

from __future__ import annotations

from collections.abc import Mapping

from analyzer.identity import KEY, stitched
from storage.sql import identifier

TIE = "cityHash64(event_id)"


def timelines(database: str, fields: Mapping[str, str], where: str) -> str:
    """A subquery of ``person_id``, ``times`` and one array per entry of ``fields``.

    ``fields`` maps an output name to an SQL expression over event columns; ``where`` selects
    the events. Both are code-built; their values are ``%(name)s`` parameters."""
    names = [identifier(n) for n in fields]
    grouped = ", ".join(f"groupArray({expr}) AS _g_{name}" for name, expr in fields.items())
    source = (
        f"(SELECT {KEY} AS key0, groupArray(timestamp_ms) AS _g_times, groupArray({TIE}) AS _g_tie"
        f"{', ' + grouped if grouped else ''} "
        f"FROM {identifier(database)}.events WHERE {where} GROUP BY key0)"
    )
    carried = ["_g_times", "_g_tie", *(f"_g_{n}" for n in names)]
    merged = ", ".join(f"groupArrayArray({c}) AS _m{c[2:]}" for c in carried)
    # Old servers drop a column used only inside a lambda: arrays enter lambdas as arguments.
    args = ", ".join(f"a{i}" for i in range(len(carried)))
    sort = f"arraySort(arrayMap(({args}) -> ({args}), {', '.join(f'_m{c[2:]}' for c in carried)}))"
    aligned = ", ".join(
        f"arrayMap(x -> tupleElement(x, {i + 3}), _events) AS {n}" for i, n in enumerate(names)
    )
    return (
        f"(SELECT person_id, {merged}, {sort} AS _sorted, "
        "arrayFilter((x, first) -> first = 1, _sorted, "
        "arrayEnumerateUniq(arrayMap(x -> tupleElement(x, 2), _sorted))) AS _events, "
        f"arrayMap(x -> tupleElement(x, 1), _events) AS times{', ' + aligned if aligned else ''} "
        f"FROM {stitched(database, source, carried)} GROUP BY person_id)"
    )

"""Text values that travel through a query as 64-bit hashes, and their texts read back.

Grouping, sorting and carrying strings per event is what large analyses spend most on; the
hash of a value does the same work on integers. Only the values in the answer need their text
again: it is read from the first events (in storage order) that carry each hash, and the scan
stops as soon as every hash is found, so frequent values cost a few blocks. Two different
values would have to share a hash to be counted as one.
"""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.query import Query
from storage.sql import identifier
from storage.store import Store


def key(text: str) -> str:
    """SQL: the hash a value travels as; ``text`` is SQL (a column, an expression or a bound
    ``%(name)s``)."""
    return f"cityHash64({text})"


def texts(
    store: Store,
    expression: str,
    keys: Iterable[int],
    query: Query,
    where: str = "1",
    labels: Iterable[str] = (),
) -> dict[int, str]:
    """The text of each hash in ``keys``: ``labels`` (values a query makes up, such as
    ``(end)``) by their own hash, the rest from events where ``expression`` (SQL over event
    columns, with its values bound in ``query``) hashes to it. A hash no event carries any more
    (erased since) is shown as ``(unknown <hex>)``."""
    wanted, labels = set(keys), list(labels)
    names: dict[int, str] = {}
    if labels:
        bound = {f"label{i}": label for i, label in enumerate(labels)}
        (hashed,) = store.execute(
            "SELECT " + ", ".join(key(f"%(label{i})s") for i in range(len(labels))), bound
        )
        names = {int(h): label for h, label in zip(hashed, labels, strict=True)}
    missing = sorted(wanted - names.keys())
    if missing:
        rows = store.execute(
            f"SELECT h, x FROM (SELECT {expression} AS x, {key('x')} AS h "
            f"FROM {identifier(store.database)}.events WHERE {where}) "
            "WHERE has(%(_keys)s, h) LIMIT 1 BY h LIMIT %(_n)s",
            {**query.values, "_keys": missing, "_n": len(missing)},
        )
        names.update({int(h): str(x) for h, x in rows})
    return {k: names.get(k, f"(unknown {k:016x})") for k in wanted}

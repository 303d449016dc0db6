"""Deleting rows: ``ALTER TABLE ... DELETE`` (a mutation, on servers from 18.x to today and in
chDB), run against the tables that hold the rows (the local tables ON CLUSTER on a cluster) and
waited for on every replica."""

from __future__ import annotations

import time

from storage.cluster import on_cluster, rows_of
from storage.store import Store


class MutationTimeout(RuntimeError):
    """Mutations were still running when the time allowed ran out; ``pending`` says how many."""

    def __init__(self, pending: int, timeout: float) -> None:
        super().__init__(
            f"ClickHouse still has {pending} unfinished deletions after {timeout:.0f}s"
        )
        self.pending = pending


def delete(store: Store, table: str, where: str, params: dict[str, object] | None = None) -> None:
    """Start deleting the rows of ``table`` meeting ``where`` (code-built SQL whose values are
    ``%(name)s`` parameters); ``wait`` for it to finish."""
    store.execute(
        f"ALTER TABLE {rows_of(store, table)}{on_cluster(store)} DELETE WHERE {where}", params
    )


def wait(store: Store, timeout: float) -> None:
    """Until no mutation of the store's database is unfinished on any node (a mutation ON
    CLUSTER is done when every replica has done it); MutationTimeout after ``timeout``."""
    deadline = time.monotonic() + timeout
    nodes = store.nodes()
    try:
        for node in nodes:
            while True:
                pending = node.execute(
                    "SELECT count() FROM system.mutations WHERE database = %(db)s AND is_done = 0",
                    {"db": store.database},
                )[0][0]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise MutationTimeout(int(pending), timeout)
                time.sleep(0.2)
    finally:
        if store.cluster:
            for node in nodes:
                node.close()

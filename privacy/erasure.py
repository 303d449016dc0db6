"""Right to erasure: remove one person's events, identity links and segment rows from ClickHouse,
suppress their ids so a replay cannot load them again, and record the request with its proof.

A person is found the way reports find them (``analyzer.identity``): the id given is followed
through its links to the person's id, then every id that links to that person (anonymous ids of
each device, aliased ids) is erased with it. An event is the person's when its user id is one of
those ids, or it has no user id and its anonymous id is one of them; an event another person
sent from a shared device stays theirs.

Deletion is ``ALTER TABLE ... DELETE`` (a mutation, on servers from 18.x to today and in chDB),
waited for until done; then every table is counted again and the request is recorded with what
was removed and what remains (0, or the request fails). On a cluster the deletion runs ON
CLUSTER against the local tables, and waiting and counting visit every replica.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from analyzer import identity
from core.progress import Report, silent
from storage import mutations
from storage.cluster import rows_of
from storage.sql import identifier
from storage.store import Store

ID_KINDS = ("user_id", "anonymous_id")
MAX_ID_CHARS = 1_000
MUTATION_TIMEOUT_S = 300.0
REQUEST_COLUMNS = (
    "request_id",
    "kind",
    "id_kind",
    "id_digest",
    "requested_at",
    "finished_at",
    "ids_erased",
    "rows_deleted",
    "remaining",
    "operator",
)


class ErasureError(RuntimeError):
    """The request was refused or did not finish; the message says which and why."""


def digest(value: str) -> str:
    """The SHA-256 of an id, as kept in the privacy tables."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Erasure:
    request_id: str
    id_kind: str
    person_id: str
    ids: list[str]
    rows_deleted: dict[str, int] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)
    took_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "id_kind": self.id_kind,
            "person_id": self.person_id,
            "ids": self.ids,
            "rows_deleted": self.rows_deleted,
            "remaining": self.remaining,
            "took_s": round(self.took_s, 2),
        }


def person_ids(store: Store, id_kind: str, value: str) -> tuple[str, list[str]]:
    """(the person's id, every id that is theirs), following links both ways."""
    links = identity.links(store.database)
    person = value
    for _ in range(3):  # anonymous id -> user -> aliased user, as analyzer.identity follows
        rows = store.execute(
            f"SELECT target FROM {links} WHERE id = %(id)s AND target != ''", {"id": person}
        )
        if not rows or rows[0][0] == person:
            break
        person = str(rows[0][0])
    ids = {person}
    for _ in range(4):  # ids linking to the person, then ids linking to those
        rows = store.execute(
            f"SELECT id FROM {links} WHERE has(%(ids)s, target)", {"ids": sorted(ids)}
        )
        grown = ids | {str(r[0]) for r in rows}
        if grown == ids:
            break
        ids = grown
    if id_kind == "anonymous_id":
        ids.add(value)
    return person, sorted(ids)


# table -> the condition that selects the person's rows (``%(ids)s`` is their ids)
PERSON_ROWS = {
    "events": "has(%(ids)s, user_id) OR (user_id = '' AND has(%(ids)s, anonymous_id))",
    "identity_links": "has(%(ids)s, id)",
    "segment_members": "has(%(ids)s, person_id)",
    "rfm_values": "has(%(ids)s, person_id)",
    "propensity_scores": "has(%(ids)s, person_id)",
    "public_segments": "has(%(ids)s, anonymous_id)",  # what the website may be told
    "experiment_exposures": "has(%(ids)s, anonymous_id)",  # the variants it was shown
}


def count_rows(store: Store, ids: list[str]) -> dict[str, int]:
    """Rows of the person in each table that holds personal data."""
    db = identifier(store.database)
    return {
        table: int(
            store.execute(f"SELECT count() FROM {db}.{table} WHERE {where}", {"ids": ids})[0][0]
        )
        for table, where in PERSON_ROWS.items()
    }


def count_rows_everywhere(store: Store, ids: list[str]) -> dict[str, int]:
    """Rows of the person left on any node: every replica of every shard on a cluster (a query
    through a Distributed table reads one replica per shard)."""
    if not store.cluster:
        return count_rows(store, ids)
    local = {table: rows_of(store, table) for table in PERSON_ROWS}
    totals = dict.fromkeys(PERSON_ROWS, 0)
    for node in store.nodes():
        try:
            for table, where in PERSON_ROWS.items():
                (n,) = node.execute(
                    f"SELECT count() FROM {local[table]} WHERE {where}", {"ids": ids}
                )[0]
                totals[table] += int(n)
        finally:
            node.close()
    return totals


def _wait_for_mutations(store: Store, timeout: float) -> None:
    try:
        mutations.wait(store, timeout)
    except mutations.MutationTimeout as exc:
        raise ErasureError(
            f"{exc}; the request is recorded as unfinished: run it again to finish and check it"
        ) from None


def suppressed(store: Store) -> set[str]:
    """Digests of every erased id (the loader drops events carrying one)."""
    db = identifier(store.database)
    return {str(r[0]) for r in store.execute(f"SELECT DISTINCT id_digest FROM {db}.suppressed_ids")}


def erase(
    store: Store,
    id_kind: str,
    value: str,
    operator: str = "",
    settle: Callable[[], None] | None = None,
    progress: Report = silent,
) -> Erasure:
    """Erase the person ``value`` (a user id or an anonymous id) is, and record it.

    ``settle`` runs between the first deletion and the check: the loader's time to see the new
    suppression (events of the person already read from Kafka are deleted by a second pass)."""
    if id_kind not in ID_KINDS:
        raise ErasureError(f"erase by one of {', '.join(ID_KINDS)}, not {id_kind!r}")
    value = value.strip()
    if not value or len(value) > MAX_ID_CHARS or "\0" in value:
        raise ErasureError(
            f"--{id_kind.replace('_', '-')}: give an id of 1 to {MAX_ID_CHARS} characters"
        )
    started = time.monotonic()
    requested_at = datetime.now(UTC)
    person, ids = person_ids(store, id_kind, value)
    erasure = Erasure(uuid.uuid4().hex, id_kind, person, ids)
    store.insert(
        "suppressed_ids",
        ["id_digest", "request_id", "at"],
        [(digest(i), erasure.request_id, requested_at) for i in ids],
    )
    progress(f"counting the rows of {len(ids)} ids")
    before = count_rows(store, ids)
    for attempt in range(2):
        for table, where in PERSON_ROWS.items():
            progress(f"pass {attempt + 1}: deleting from {table}")
            mutations.delete(store, table, where, {"ids": ids})
        progress(f"pass {attempt + 1}: waiting for ClickHouse to carry out the deletions")
        _wait_for_mutations(store, MUTATION_TIMEOUT_S)
        if attempt == 0 and settle is not None:
            progress("waiting for the loaders to see the suppression")
            settle()
    progress("counting what is left, on every replica")
    erasure.remaining = count_rows_everywhere(store, ids)
    erasure.rows_deleted = {t: before[t] - erasure.remaining[t] for t in before}
    erasure.took_s = time.monotonic() - started
    store.insert(
        "privacy_requests",
        REQUEST_COLUMNS,
        [
            (
                erasure.request_id,
                "delete",
                id_kind,
                digest(value),
                requested_at,
                datetime.now(UTC),
                len(ids),
                orjson.dumps(erasure.rows_deleted).decode(),
                sum(erasure.remaining.values()),
                operator[:200],
            )
        ],
    )
    if any(erasure.remaining.values()):
        raise ErasureError(f"rows of the person remain after deletion: {erasure.remaining}")
    return erasure


def requests(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The latest erasure requests, newest first (ids only as digests)."""
    db = identifier(store.database)
    rows = store.execute(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM {db}.privacy_requests "
        "ORDER BY requested_at DESC, request_id LIMIT %(limit)s",
        {"limit": limit},
    )
    out = [dict(zip(REQUEST_COLUMNS, row, strict=True)) for row in rows]
    for entry in out:
        entry["rows_deleted"] = orjson.loads(entry["rows_deleted"])
        for key in ("requested_at", "finished_at"):
            entry[key] = entry[key].replace(tzinfo=UTC).isoformat()
    return out

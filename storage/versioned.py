"""Tables of named documents kept by version (segment definitions, alert rules): a change is a
new version, an unchanged document keeps its version, and dropping writes an empty version, so
every result can say which version produced it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.sql import identifier
from storage.store import Store

COLUMNS = ("name", "version", "definition", "created_at")
# How every such table is made (its migration): one row per version, read by name.
DDL_COLUMNS = ("name String", "version UInt32", "definition String", "created_at DateTime('UTC')")
DDL_ORDER = "(name, version)"


@dataclass(frozen=True)
class Version:
    name: str
    version: int
    text: str  # canonical JSON; '' once dropped
    created_at: datetime


def latest(store: Store, table: str) -> dict[str, Version]:
    """The latest version of every document that is not dropped, by name."""
    rows = store.execute(
        "SELECT name, max(version), argMax(definition, version), argMax(created_at, version) "
        f"FROM {identifier(store.database)}.{identifier(table)} GROUP BY name ORDER BY name"
    )
    return {
        str(name): Version(str(name), int(version), str(text), created.replace(tzinfo=UTC))
        for name, version, text, created in rows
        if text != ""
    }


def save(store: Store, table: str, documents: dict[str, str]) -> dict[str, int]:
    """Store each (name -> canonical text) unless its latest version is the same; the versions."""
    current = latest(store, table)
    rows, versions = [], {}
    now = datetime.now(UTC)
    for name, text in documents.items():
        have = current.get(name)
        if have is not None and have.text == text:
            versions[name] = have.version
            continue
        versions[name] = _next(store, table, name)
        rows.append((name, versions[name], text, now))
    if rows:
        store.insert(table, COLUMNS, rows)
    return versions


def drop(store: Store, table: str, name: str) -> bool:
    """Write an empty version; False if there is no such document."""
    if name not in latest(store, table):
        return False
    store.insert(table, COLUMNS, [(name, _next(store, table, name), "", datetime.now(UTC))])
    return True


def _next(store: Store, table: str, name: str) -> int:
    rows = store.execute(
        f"SELECT max(version) FROM {identifier(store.database)}.{identifier(table)} "
        "WHERE name = %(n)s",
        {"n": name},
    )
    return int(rows[0][0] or 0) + 1

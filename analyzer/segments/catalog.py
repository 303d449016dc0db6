"""Where definitions live: the ``segment_definitions`` table, one row per version.

``define`` stores a definition as a new version when it differs from the latest one, so every
refresh records which version it computed and old results stay explainable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzer.segments.definition import Definition, DefinitionError, dumps, parse_definition
from storage.sql import identifier
from storage.store import Store


@dataclass(frozen=True)
class Stored:
    definition: Definition
    version: int
    created_at: datetime


def stored(store: Store) -> dict[str, Stored]:
    """The latest version of every defined segment, by name."""
    db = identifier(store.database)
    rows = store.execute(
        "SELECT name, max(version), argMax(definition, version), argMax(created_at, version) "
        f"FROM {db}.segment_definitions GROUP BY name ORDER BY name"
    )
    out = {}
    for name, version, text, created in rows:
        if text == "":  # dropped
            continue
        out[name] = Stored(
            parse_definition(json.loads(text), name),
            int(version),
            created.replace(tzinfo=UTC),
        )
    return out


def define(store: Store, definitions: Sequence[Definition]) -> dict[str, int]:
    """Store each definition unless its latest version is the same; name -> version."""
    current = stored(store)
    rows, versions = [], {}
    now = datetime.now(UTC)
    for d in definitions:
        text = dumps(d)
        have = current.get(d.name)
        if have is not None and dumps(have.definition) == text:
            versions[d.name] = have.version
            continue
        version = _next_version(store, d.name)
        rows.append((d.name, version, text, now))
        versions[d.name] = version
    if rows:
        store.insert("segment_definitions", ("name", "version", "definition", "created_at"), rows)
    return versions


def drop(store: Store, name: str) -> None:
    """Stop a segment: a version with no definition. Its history is kept."""
    if name not in stored(store):
        raise DefinitionError(f"name: no segment {name!r}")
    store.insert(
        "segment_definitions",
        ("name", "version", "definition", "created_at"),
        [(name, _next_version(store, name), "", datetime.now(UTC))],
    )


def _next_version(store: Store, name: str) -> int:
    db = identifier(store.database)
    rows = store.execute(
        f"SELECT max(version) FROM {db}.segment_definitions WHERE name = %(n)s", {"n": name}
    )
    return int(rows[0][0] or 0) + 1

"""Where definitions live: the ``segment_definitions`` table, one row per version.

``define`` stores a definition as a new version when it differs from the latest one, so every
refresh records which version it computed and old results stay explainable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from analyzer.segments.definition import Definition, DefinitionError, dumps, parse_definition
from storage import versioned
from storage.store import Store

TABLE = "segment_definitions"


@dataclass(frozen=True)
class Stored:
    definition: Definition
    version: int
    created_at: datetime


def stored(store: Store) -> dict[str, Stored]:
    """The latest version of every defined segment, by name (without those ``unusable``)."""
    return catalog(store)[0]


def catalog(store: Store) -> tuple[dict[str, Stored], dict[str, str]]:
    """The latest version of every defined segment, by name; and apart, by name, why each one
    stored before a check that it no longer passes (a pattern RE2 refuses) cannot be used.
    One such definition never hides the others."""
    usable: dict[str, Stored] = {}
    unusable: dict[str, str] = {}
    for name, v in versioned.latest(store, TABLE).items():
        try:
            definition = parse_definition(json.loads(v.text), name)
        except DefinitionError as exc:
            unusable[name] = f"{exc} (define it again)"
            continue
        usable[name] = Stored(definition, v.version, v.created_at)
    return usable, unusable


def define(store: Store, definitions: Sequence[Definition]) -> dict[str, int]:
    """Store each definition unless its latest version is the same; name -> version."""
    return versioned.save(store, TABLE, {d.name: dumps(d) for d in definitions})


def drop(store: Store, name: str) -> None:
    """Stop a segment: a version with no definition. Its history is kept."""
    if not versioned.drop(store, TABLE, name):
        raise DefinitionError(f"name: no segment {name!r}")

"""Touchpoint sets as the API and the CLI show them (analyzer.touchpoints defines them)."""

from __future__ import annotations

from typing import Any

from analyzer import touchpoints
from storage.store import Store


def as_dict(name: str, s: touchpoints.Stored) -> dict[str, Any]:
    """A set as written, with its version and when that version was defined."""
    written = s.touchpoints.source
    return {
        "name": name,
        "version": s.version,
        "defined_at": s.created_at,
        "description": s.touchpoints.description,
        "any_of": written.get("any_of", []),
    }


def listing(store: Store) -> list[dict[str, Any]]:
    """Every defined set, by name."""
    return [as_dict(name, s) for name, s in touchpoints.stored(store).items()]


def one(store: Store, name: str) -> dict[str, Any] | None:
    found = touchpoints.stored(store).get(name)
    return None if found is None else as_dict(name, found)


def put(store: Store, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Define (a new version of) set ``name`` from ``{any_of: [...], description}``; a
    DocumentError names the field that is wrong."""
    if body.get("name", name) != name:
        raise touchpoints.DocumentError(f"body.name: must be the path's {name!r} or left out")
    touchpoints.define(store, [touchpoints.parse_set({**body, "name": name}, "body")])
    found = one(store, name)
    assert found is not None
    return found

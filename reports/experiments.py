"""Experiments as the API and the CLI show them (analyzer.experiments defines them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analyzer.errors import SpecError
from analyzer.experiments import catalog
from analyzer.experiments.definition import parse_experiment
from storage.store import Store


def as_dict(s: catalog.StoredExperiment, now: datetime) -> dict[str, Any]:
    """An experiment as written, with its version, when that was defined and its status."""
    e = s.experiment
    return {
        "key": e.key,
        "version": s.version,
        "defined_at": s.defined_at,
        "status": s.status(now),
        "control": e.control,
        "experiment": e.source,
    }


def row(s: catalog.StoredExperiment, now: datetime) -> dict[str, Any]:
    """One line of the listing."""
    e = s.experiment
    return {
        "key": e.key,
        "version": s.version,
        "status": s.status(now),
        "segments": ", ".join(e.segments) or "(everyone)",
        "variants": ", ".join(f"{v.name} {v.weight}" for v in e.variants),
        "metric": e.metric.name,
        "start": e.start,
        "end": e.end,
    }


def listing(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every experiment (latest versions), by key."""
    now = now or datetime.now(UTC)
    return [as_dict(s, now) for s in catalog.stored(store).values()]


def one(store: Store, key: str, now: datetime | None = None) -> dict[str, Any] | None:
    found = catalog.stored(store).get(key)
    return None if found is None else as_dict(found, now or datetime.now(UTC))


def put(store: Store, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Define (a new version of) experiment ``key`` from its definition; a SpecError names
    the field that is wrong (``body.variants[1].weight: ...``)."""
    if body.get("key", key) != key:
        raise SpecError("body.key", f"must be the path's {key!r} or left out")
    catalog.define(store, [parse_experiment({**body, "key": key}, "body")])
    found = one(store, key)
    assert found is not None
    return found

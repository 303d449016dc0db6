"""Where experiments live: the ``experiments`` table, one row per version (storage.versioned).
Stopping an experiment is a version that ends it now; its exposures and results are kept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzer.documents import DocumentError
from analyzer.experiments.definition import Experiment, dumps, parse_experiment
from storage import versioned
from storage.store import Store

TABLE = "experiments"


@dataclass(frozen=True)
class StoredExperiment:
    experiment: Experiment
    version: int
    defined_at: datetime

    def status(self, now: datetime) -> str:
        """scheduled, running or ended, at ``now``."""
        e = self.experiment
        if now < e.start:
            return "scheduled"
        return "running" if e.end is None or now < e.end else "ended"


def stored(store: Store) -> dict[str, StoredExperiment]:
    """The latest version of every experiment, by key."""
    return {
        key: StoredExperiment(parse_experiment(json.loads(v.text), key), v.version, v.created_at)
        for key, v in versioned.latest(store, TABLE).items()
    }


def define(store: Store, experiments: Sequence[Experiment]) -> dict[str, int]:
    """Store each experiment unless its latest version is the same; key -> version."""
    return versioned.save(store, TABLE, {e.key: dumps(e) for e in experiments})


def stop(store: Store, key: str, now: datetime | None = None) -> str:
    """End experiment ``key`` now (a new version ending it; its status afterwards). One that
    has not started is withdrawn (a version with no definition); an ended one is left."""
    now = now or datetime.now(UTC)
    found = stored(store).get(key)
    if found is None:
        raise DocumentError(f"key: no experiment {key!r} is defined")
    status = found.status(now)
    if status == "scheduled":
        versioned.drop(store, TABLE, key)
        return "withdrawn"
    if status == "running":
        source = {**found.experiment.source, "end": now.isoformat()}
        define(store, [parse_experiment(source, key)])
    return "ended"

"""Random logs loaded once per test session and engine: many analyses read the same data (the
funnel, paths, pain point and trend modules; their tests only read, or define what only they
name)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.store import Store
from tests.analyzer.logs import load, random_log
from tests.conftest import WITH_CLUSTER, drop_store, open_store


@dataclass
class Loaded:
    store: Store
    events: list[dict[str, Any]]  # with their tie hash


@pytest.fixture(scope="session", params=WITH_CLUSTER)
def loaded(request: pytest.FixtureRequest, chdb_path: Path) -> Iterator[dict[int, Loaded]]:
    """Seeds 1 and 2, each in its own database, on the server and on chDB."""
    out = {}
    for seed in (1, 2):
        store = open_store(request.param, request, chdb_path)
        out[seed] = Loaded(store, load(store, random_log(seed), seed))
    yield out
    for item in out.values():
        drop_store(item.store)

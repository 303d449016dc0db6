"""The analysts' API on a real HTTP server over a store holding a random event log, on the
ClickHouse server and on chDB; one token per module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from reports.api import create_app
from reports.tokens import TokenStore
from storage.store import Store
from tests.analyzer.logs import load, random_log
from tests.conftest import open_store
from tests.helpers import serve


@dataclass
class Api:
    url: str
    token: str
    store: Store
    tokens: TokenStore
    events: list[dict[str, Any]]

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        auth = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return requests.get(self.url + path, params=params, headers=auth, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        auth = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, self.url + path, headers=auth, timeout=60, **kwargs)


@pytest.fixture(scope="module", params=["server", "embedded"])
def api(
    request: pytest.FixtureRequest, chdb_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    store = open_store(request.param, request, chdb_path)
    events = load(store, random_log(1), 1)
    tokens = TokenStore.local(tmp_path_factory.mktemp("tokens") / "tokens.sqlite3")
    token = tokens.create("analyst")
    with serve(create_app(store, tokens)) as url:
        yield Api(url, token, store, tokens, events)
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()

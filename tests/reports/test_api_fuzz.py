"""Schemathesis against the analysts' API's OpenAPI description, over a ClickHouse server holding a
random event log: generated parameters, valid and invalid (absurd ranges, huge and odd strings,
injection-shaped values, unknown names), and every answer checked: never a 5xx, a documented
status, a body matching its schema, and a reason on every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from reports.api import create_app
from reports.tokens import TokenStore
from tests.analyzer.logs import load, random_log
from tests.conftest import open_store

pytestmark = pytest.mark.integration
TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(
    request: pytest.FixtureRequest, chdb_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    store = open_store("server", request, chdb_path)
    load(store, random_log(3, persons=40), 3)
    tokens = TokenStore.local(tmp_path_factory.mktemp("fuzz-tokens") / "tokens.sqlite3")
    TOKEN["value"] = tokens.create("fuzzer")
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(store, tokens))
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_never_a_server_error(case: Any) -> None:
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN['value']}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith(
        "application/json"
    ):
        assert response.json()["error"]

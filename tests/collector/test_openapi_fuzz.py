"""Schemathesis against the tracking API's OpenAPI description: requests generated from it, valid
and invalid (wrong types, missing fields, odd strings and numbers, unexpected methods), and every
answer checked: never a 5xx, always a documented status with a body that matches its schema and
an error that gives a reason.

Not checked: that every schema-valid message is accepted. The collector checks more than a JSON
Schema can say (ISO 8601 times, ids a loader can store) and answers each message it refuses with
its reason, which the response schema requires."""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from collector.app import create_app
from collector.personalize import EXPERIMENTS_FILE, PublicSegments
from core.settings import Settings
from tests.conftest import WRITE_KEY, FakeSink


def _personalization() -> PublicSegments:
    """A collector's copy with an experiment for everyone in it and no store: what a collector
    restarted while ClickHouse is down answers from (so personalization answers, not 503)."""
    folder = Path(tempfile.mkdtemp())
    experiment = {
        "key": "fuzzed",
        "variants": [{"name": "a"}, {"name": "b", "content": {"x": 1}}],
        "metric": {"name": "m", "converts": ["Buy"]},
        "start": "2026-01-01",
    }
    (folder / EXPERIMENTS_FILE).write_text(json.dumps({"fuzzed": experiment}))
    return PublicSegments(None, folder)


APP = create_app(
    Settings(data_dir=Path(tempfile.mkdtemp()), write_keys={WRITE_KEY: "fuzz"}),
    sink=FakeSink(),
    public_segments=_personalization(),
)
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", APP)
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_never_a_server_error(case: Any) -> None:
    response = case.call_and_validate(
        headers=AUTH, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
    if response.status_code >= 400:
        assert response.json()["error"]  # every refusal says why

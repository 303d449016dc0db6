"""`journey experiments define|list|show|stop|schema` on a ClickHouse server database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import schemas
from journey.cli import main
from tests.helpers import server_database

pytestmark = pytest.mark.integration

DOCUMENT = """\
version: 1
experiments:
  - key: vip-offer
    segments: [vip]
    variants:
      - {name: holdout, weight: 10}
      - {name: offer, weight: 90, content: {banner: "20% off"}}
    metric: {name: orders, converts: [Product Added, Order Completed], within: 7d}
    start: 2026-01-01T00:00:00Z
"""


def test_an_experiment_is_defined_listed_shown_and_stopped(
    clickhouse_server: Any, tmp_path: Path
) -> None:
    with server_database(clickhouse_server) as (_, url):
        env = {"JOURNEY_CLICKHOUSE_URL": url}

        def cli(*args: str) -> Any:
            return CliRunner().invoke(main, ["experiments", *args], env=env)

        path = tmp_path / "experiments.yaml"
        path.write_text(DOCUMENT)
        defined = cli("define", str(path))
        assert defined.exit_code == 0 and defined.output == "vip-offer: version 1\n"
        listed = cli("list", "--format", "json")
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.output)
        assert row["status"] == "running" and row["variants"] == "holdout 10, offer 90"
        shown = json.loads(cli("show", "vip-offer").output)
        assert shown["experiment"]["variants"][1]["content"] == {"banner": "20% off"}
        assert cli("stop", "vip-offer").output == "vip-offer: ended\n"
        assert json.loads(cli("show", "vip-offer").output)["status"] == "ended"

        path.write_text(DOCUMENT.replace("weight: 10", "weight: -1"))
        refused = cli("define", str(path))
        assert refused.exit_code == 1
        assert f"{path}: experiments[0].variants[0].weight: a whole number" in refused.output
        assert "Traceback" not in refused.output
        missing = cli("show", "nothing")
        assert missing.exit_code == 1 and "no experiment 'nothing'" in missing.output
        stop_missing = cli("stop", "nothing")
        assert stop_missing.exit_code == 1 and "no experiment 'nothing'" in stop_missing.output


def test_the_schema_is_printed_for_editors() -> None:
    printed = CliRunner().invoke(main, ["experiments", "schema"])
    assert json.loads(printed.output) == schemas.load(schemas.EXPERIMENT_DOCUMENT)

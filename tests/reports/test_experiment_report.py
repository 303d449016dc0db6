"""The experiment report over the API (JSON as the OpenAPI description says, CSV, HTML with its
charts) and the CLI, equal to the analyzer's answer, on the ClickHouse server and chDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from analyzer.experiments import catalog
from analyzer.experiments.analysis import analyze
from journey.cli import main
from reports.api import create_app
from reports.tokens import TokenStore
from storage.store import Store
from tests.analyzer.experiments.test_analysis import END, experiment, load, random_log
from tests.helpers import serve
from tests.reports.openapi_check import check

PATH = "/api/v1/reports/experiment"


def _flat(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON value with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flat(v, f"{path}[{i}]")
    else:
        yield path, value


def test_the_experiment_report_answers_as_described(store: Store, tmp_path: Path) -> None:
    load(store, random_log(3, persons=400), 3)
    catalog.define(store, [experiment()])
    tokens = TokenStore.local(tmp_path / "tokens.sqlite3")
    auth = {"Authorization": f"Bearer {tokens.create('analyst')}"}
    expected = json.loads(
        json.dumps(analyze(store, experiment(), END + timedelta(days=9)).as_dict(), default=str)
    )
    with serve(create_app(store, tokens)) as url:

        def get(**params: Any) -> requests.Response:
            return requests.get(url + PATH, params=params, headers=auth, timeout=60)

        answer = get(experiment="vip-offer", as_of=(END + timedelta(days=8)).date().isoformat())
        assert answer.status_code == 200, answer.text
        body = check(answer, PATH)
        assert body["kind"] == "experiment" and body["title"] == "Experiment: vip-offer"
        got = body["result"]
        assert got["people"] == expected["people"] > 0
        flat_got, flat_expected = dict(_flat(got["metrics"])), dict(_flat(expected["metrics"]))
        assert flat_got.keys() == flat_expected.keys()
        for name, value in flat_expected.items():  # sums of floats add up in any order
            assert flat_got[name] == (pytest.approx(value, rel=1e-9) if value else value), name
        assert got["as_of"].startswith(END.date().isoformat())  # never past the end
        assert not [w for w in body["warnings"] if "still running" in w["message"]]
        csv = get(experiment="vip-offer", format="csv")
        assert csv.text.startswith("metric,segment,variant,people,value,low,high,lift")
        assert len(csv.text.strip().splitlines()) == 1 + 2 * 3 * 2  # metrics x groups x variants
        page = get(experiment="vip-offer", format="html")
        assert page.status_code == 200 and page.text.count("class='journey-figure'") == 4
        missing = get()
        assert missing.status_code == 400 and missing.json()["parameter"] == "experiment"
        unknown = get(experiment="nothing")
        assert unknown.status_code == 404 and "no experiment 'nothing'" in unknown.json()["error"]
        soon = get(experiment="vip-offer", as_of=END.date().replace(day=10).isoformat())
        assert any("still running" in w["message"] for w in check(soon, PATH)["warnings"])


def test_the_cli_prints_the_experiment_report(clickhouse_server: Any) -> None:
    from tests.helpers import server_database

    with server_database(clickhouse_server) as (store, url):
        load(store, random_log(4, persons=200), 4)
        catalog.define(store, [experiment()])
        env = {"JOURNEY_CLICKHOUSE_URL": url}
        args = ["report", "experiment", "--experiment", "vip-offer", "--format", "json"]
        shown = CliRunner().invoke(main, args, env=env)
        assert shown.exit_code == 0, shown.output
        result = json.loads(shown.stdout)  # warnings go to stderr
        assert result["key"] == "vip-offer" and result["people"] > 0
        table = CliRunner().invoke(main, args[:-2], env=env)
        assert table.exit_code == 0 and "adjusted_p_value" in table.output
        refused = CliRunner().invoke(main, ["report", "experiment"], env=env)
        assert refused.exit_code == 2 and "--experiment" in refused.output

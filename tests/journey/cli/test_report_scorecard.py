"""The scorecard reports (scorecard, compare, campaigns) through every interface on a ClickHouse
server database: the CLI (json, csv, table, html), spend import from the shell, and the HTTP API
with its answers checked against the OpenAPI description; bad input names the option."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import refresh
from analyzer.segments.scorecard import ScorecardSpec, compare, scorecard
from journey.cli import main
from reports.api import create_app
from reports.tokens import TokenStore
from storage.server import ServerStore
from tests.analyzer.segments.bases import NOW, customers, load
from tests.analyzer.segments.test_scorecard import DOC
from tests.helpers import serve, server_database
from tests.reports.openapi_check import check

pytestmark = pytest.mark.integration
PERIOD = [
    "--since",
    (NOW - timedelta(days=60)).date().isoformat(),
    "--until",
    NOW.date().isoformat(),
]
BEFORE = ["--before-since", (NOW - timedelta(days=120)).date().isoformat(),
          "--before-until", (NOW - timedelta(days=60)).date().isoformat()]  # fmt: skip


@pytest.fixture(scope="module")
def database(clickhouse_server: Any) -> Iterator[tuple[ServerStore, str]]:
    with server_database(clickhouse_server) as (store, url):
        load(store, customers(8, people=200), 8)
        catalog.define(store, parse_document(DOC))
        refresh(store, at=NOW)
        yield store, url


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"JOURNEY_CLICKHOUSE_URL": url})


def test_scorecard_and_compare_from_the_shell(
    database: tuple[ServerStore, str], tmp_path: Path
) -> None:
    store, url = database
    result = cli(url, "report", "scorecard", "--segment", "young", *PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    spec = ScorecardSpec(NOW - timedelta(days=60), NOW, segments=("young",))
    assert json.loads(result.output) == json.loads(
        json.dumps(scorecard(store, spec).as_dict(), default=str)
    )
    table = cli(url, "report", "scorecard", *PERIOD)  # every refreshed segment
    assert table.exit_code == 0 and "googlers" in table.output and "young" in table.output
    csv = cli(url, "report", "compare", "--segment", "young", *PERIOD, *BEFORE, "--format", "csv")
    assert csv.exit_code == 0, csv.output
    assert csv.output.startswith("segment,metric,before,after,difference,ci_low,ci_high")
    before = replace(spec, date_from=NOW - timedelta(days=120), date_to=NOW - timedelta(days=60))
    expected = compare(store, before, spec).changes
    assert len(csv.output.strip().splitlines()) == len(expected) + 1
    page = tmp_path / "compare.html"
    html = cli(
        url, "report", "compare", *PERIOD, *BEFORE, "--format", "html", "--output", str(page)
    )
    assert html.exit_code == 0 and "Plotly" in page.read_text()


def test_campaign_return_from_the_shell(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    _, url = database
    spend = tmp_path / "spend.csv"
    day = (NOW - timedelta(days=5)).date()
    spend.write_text(f"date,utm_source,utm_medium,spend\n{day},google,cpc,120\n{day},bad,cpc,x\n")
    imported = cli(url, "campaigns", "import-spend", str(spend))
    assert imported.exit_code == 0, imported.output
    assert "1 of 2 rows imported" in imported.output and "line 3: spend:" in imported.output
    result = cli(url, "report", "campaigns", "--segment", "young", *PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {(r["segment"], r["utm_source"]): r for r in json.loads(result.output)["campaigns"]}
    assert rows[("(all)", "google")]["spend"] == 120.0
    assert 0 < rows[("young", "google")]["spend"] < 120.0
    page = tmp_path / "campaigns.html"
    html = cli(url, "report", "campaigns", *PERIOD, "--format", "html", "--output", str(page))
    assert html.exit_code == 0 and "Return on ad spend" in page.read_text()
    missing = cli(url, "campaigns", "import-spend", str(tmp_path / "none.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scorecard", "--satisfied-at", "x"], "--satisfied-at: 'x' is not a number"),
        (["scorecard", "--segment", "Bad Name"], "--segment: segments[0]"),
        (["scorecard", "--segment", "never_defined"], "never_defined"),
        (["scorecard", "--retention-days", "0"], "--retention-days"),
        (["compare", "--before-since", "2026-01-01", "--before-until", "x"], "--before-until"),
        (["campaigns", "--lookback-days", "400"], "--lookback-days"),
    ],
)
def test_bad_options_are_named(
    database: tuple[ServerStore, str], args: list[str], message: str
) -> None:
    _, url = database
    result = cli(url, "report", *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_the_api_answers_as_described(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    store, _ = database
    tokens = TokenStore.local(tmp_path / "tokens.sqlite3")
    auth = {"Authorization": f"Bearer {tokens.create('analyst')}"}
    period = {"since": PERIOD[1], "until": PERIOD[3]}
    with serve(create_app(store, tokens)) as url:
        for kind, params in (
            ("scorecard", {"segment": ["young", "googlers"], "step": ["Product Viewed",
                                                                      "Order Completed"]}),
            ("compare", {"segment": "young", "before_since": BEFORE[1], "before_until": BEFORE[3]}),
            ("campaigns", {"segment": "young"}),
        ):  # fmt: skip
            r = requests.get(
                f"{url}/api/v1/reports/{kind}",
                params={**period, **params},
                headers=auth,
                timeout=60,
            )
            assert r.status_code == 200, r.text
            body = check(r, f"/api/v1/reports/{kind}")
            assert body["kind"] == kind
        bad = requests.get(
            f"{url}/api/v1/reports/compare", params={"segment": "young"}, headers=auth, timeout=60
        )
        assert bad.status_code == 400 and "before_since" in bad.text
        check(bad, "/api/v1/reports/compare")

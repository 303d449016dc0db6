"""`journey report funnel|paths|painpoints|retention|lifecycle` against the Python API, on a
ClickHouse server database; bad options get one line naming the option or field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from click.testing import CliRunner

from analyzer.funnels import analyze
from analyzer.paths import top_paths
from journey.cli import main
from reports.params import parse_step
from storage.server import ServerStore
from tests.analyzer.logs import load, random_log
from tests.analyzer.test_funnels import SPECS
from tests.analyzer.test_paths import PATHS
from tests.helpers import server_database

pytestmark = pytest.mark.integration
RANGE = ["--since", "2023-11-14T22:13:20+00:00", "--until", "2023-11-15T06:13:20+00:00"]


@pytest.fixture(scope="module")
def database(clickhouse_server: Any) -> Iterator[tuple[ServerStore, str]]:
    with server_database(clickhouse_server) as (store, url):
        load(store, random_log(seed=3), seed=3)
        yield store, url


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["report", *args], env={"JOURNEY_CLICKHOUSE_URL": url})


def test_funnel_json_is_the_python_result(database: tuple[ServerStore, str]) -> None:
    store, url = database
    args = ["funnel", "--step", "View", "--step", "Cart", "--step", "Buy", "--window", "1h"]
    result = cli(url, *args, *RANGE, "--breakdown", "utm_source", "--format", "json")
    assert result.exit_code == 0, result.output
    expected = analyze(store, SPECS["first_touch"]).as_dict()
    assert json.loads(result.output) == json.loads(json.dumps(expected, default=str))
    table = cli(url, *args, *RANGE)
    assert table.exit_code == 0 and "conversion_from_start" in table.output
    csv = cli(url, *args, *RANGE, "--dropped-at", "1", "--format", "csv")
    assert csv.exit_code == 0 and csv.output.startswith("person_id,last_step_at,value")


def test_paths_json_is_the_python_result(database: tuple[ServerStore, str]) -> None:
    store, url = database
    result = cli(
        url,
        "paths",
        "--kind",
        "all",
        "--start",
        "/product/:id",
        "--clean",
        r"/product/\d+=/product/:id",
        *RANGE,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    total, paths = top_paths(store, PATHS["all_from"])
    got = json.loads(result.output)
    assert got["total"] == total
    assert got["paths"] == [asdict(p) for p in paths]
    assert got["edges"]


def test_painpoints_retention_and_lifecycle_run(database: tuple[ServerStore, str]) -> None:
    _, url = database
    pain = cli(
        url,
        "painpoints",
        "--step",
        "View",
        "--step",
        "Cart",
        "--step",
        "Buy",
        "--window",
        "1h",
        "--segment",
        "utm_source=google",
        "--min-sample",
        "5",
        *RANGE,
    )
    assert pain.exit_code == 0, pain.output
    assert "View > Cart" in pain.output and "excess_dropped" in pain.output
    retention = cli(
        url,
        "retention",
        "--start-event",
        "View",
        "--return-event",
        "Buy",
        "--period",
        "day",
        "--periods",
        "2",
        *RANGE,
        "--format",
        "csv",
    )
    assert retention.exit_code == 0, retention.output
    assert retention.output.splitlines()[0] == "cohort,people,p0,p1,p2"
    lifecycle = cli(url, "lifecycle", "--event", "View", "--period", "day", *RANGE)
    assert lifecycle.exit_code == 0 and "resurrecting" in lifecycle.output
    sticky = cli(url, "stickiness", "--event", "View", "--per", "range", *RANGE, "--format", "csv")
    assert sticky.exit_code == 0, sticky.output
    lines = sticky.output.splitlines()
    assert lines[0] == "group,days,count,share" and lines[1].startswith("(everyone),1,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "--step", "View"], "--step: a funnel has 2 to 10 steps"),
        (["funnel", "--step", "A|nonsense", "--step", "B"], "--step"),
        (["funnel", "--step", "A|password=x", "--step", "B"], r"--step: steps[0].filters[0].field"),
        (
            ["funnel", "--step", "A", "--step", "B", "--breakdown", "secret"],
            "--breakdown: breakdown.field",
        ),
        (["paths", "--clean", "(=x"], "--clean: cleaning[0]"),
        (["paths", "--max-length", "1"], "--max-length"),
        (["funnel", "--step", "A", "--step", "B", "--hold", "cart"], "--hold: 'cart' is not"),
        (["painpoints", "--step", "A", "--step", "B", "--segment", "nope"], "--segment"),
        (["retention", "--start-event", "A", "--return-event", "B", "--periods", "0"], "--periods"),
    ],
)
def test_bad_options_name_the_field(
    database: tuple[ServerStore, str], args: list[str], message: str
) -> None:
    _, url = database
    result = cli(url, *args)
    assert result.exit_code == 2 or result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_step_syntax() -> None:
    step = parse_step("Product Viewed|page_path~^/product/|properties.plan in pro, team")
    assert step.event == "Product Viewed"
    assert [(f.field, f.op, f.value) for f in step.filters] == [
        ("page_path", "match", "^/product/"),
        ("properties.plan", "in", ["pro", "team"]),
    ]


def test_since_all_reads_from_the_first_event_within_the_longest_period_set(
    database: tuple[ServerStore, str],
) -> None:
    """The log was made in November 2023: all time from then is longer than the default 731
    days (refused, naming --since), and within JOURNEY_LONGEST_RANGE_DAYS=3660."""
    _, url = database
    args = ["report", "funnel", "--step", "View", "--step", "Buy", "--since", "all"]
    refused = CliRunner().invoke(main, args, env={"JOURNEY_CLICKHOUSE_URL": url})
    assert refused.exit_code == 2 and "--since" in refused.output
    assert "from 2023-11-14" in refused.output and "JOURNEY_LONGEST_RANGE_DAYS" in refused.output
    env = {"JOURNEY_CLICKHOUSE_URL": url, "JOURNEY_LONGEST_RANGE_DAYS": "3660"}
    whole = CliRunner().invoke(main, [*args, "--format", "json"], env=env)
    assert whole.exit_code == 0, whole.output
    dated = CliRunner().invoke(main, [*args[:-1], "2023-11-14", "--format", "json"], env=env)
    assert json.loads(whole.output)["steps"] == json.loads(dated.output)["steps"]
    assert json.loads(whole.output)["steps"][0]["people"] > 0

"""`journey alerts ...` end to end on a ClickHouse server database with the planted-drop
traffic: define from YAML, check (with --at, for cron), backtest, history, list, drop; and a
bad rule file gets one line naming the place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journey.cli import main
from storage import migrations
from storage.server import ServerStore
from tests.alerts.receivers import webhook_receiver
from tests.alerts.test_engine import end_of, traffic
from tests.analyzer.segments.bases import COLUMNS
from tests.helpers import insert_events, server_database

pytestmark = pytest.mark.integration

RULES = """\
version: 1
alerts:
  - name: orders
    funnel: {steps: [Product Viewed, Order Completed], window: 1h}
    scope: all
    every: 1d
    lookback: 1d
    condition: {drop_percent: 30, baseline: {same_weekday: 4}}
    min_people: 100
    channels:
      - webhook: HOOK
"""


@pytest.fixture(scope="module")
def database(clickhouse_server: Any) -> Iterator[tuple[ServerStore, str]]:
    with server_database(clickhouse_server) as (store, url):
        migrations.apply(store)
        insert_events(store, [*COLUMNS, "loaded_at"], traffic())
        yield store, url


def cli(url: str, *args: str) -> Any:
    env = {"JOURNEY_CLICKHOUSE_URL": url, "JOURNEY_ALERT_ALLOW_PRIVATE": "true"}
    return CliRunner().invoke(main, ["alerts", *args], env=env)


def test_define_check_backtest_history(database: tuple[ServerStore, str], tmp_path: Path) -> None:
    _, url = database
    with webhook_receiver() as hook:
        file = tmp_path / "alerts.yaml"
        file.write_text(RULES.replace("HOOK", hook.url))
        result = cli(url, "define", str(file))
        assert result.exit_code == 0 and "orders: version 1" in result.output, result.output
        # all devices: 640 people, 30% converting; on days 30 and 31 mobile and tablet drop
        # to 10%: (30 + 81 + 4) / 640 = 18%, a 40% drop
        backtest = cli(
            url,
            "backtest",
            "orders",
            "--since",
            end_of(28).isoformat(),
            "--until",
            end_of(34).isoformat(),
            "--format",
            "json",
        )
        assert backtest.exit_code == 0, backtest.output
        changes = [(r["at"], r["change"]) for r in json.loads(backtest.output)]
        assert changes == [
            (end_of(30).isoformat(), "fired"),
            (end_of(32).isoformat(), "resolved"),
        ]
        for day in (29, 30, 31):
            checked = cli(url, "check", "--at", end_of(day).isoformat(), "--format", "json")
            assert checked.exit_code == 0, checked.output
        assert [m["alert"]["state"] for m in hook.received] == ["firing"]
        listed = json.loads(cli(url, "list", "--format", "json").output)
        assert listed[0]["rule"] == "orders" and listed[0]["firing"] == "all"
        table = cli(url, "history", "orders", "--changes")
        assert table.exit_code == 0 and "firing" in table.output
        sent = json.loads(cli(url, "history", "orders", "--deliveries", "--format", "json").output)
        assert [(d["channel"], d["ok"], d["target"]) for d in sent] == [
            ("webhook", True, "127.0.0.1")
        ]
        assert cli(url, "drop", "orders").exit_code == 0
        assert json.loads(cli(url, "list", "--format", "json").output) == []


def test_bad_input_is_one_line_naming_the_place(
    database: tuple[ServerStore, str], tmp_path: Path
) -> None:
    _, url = database
    file = tmp_path / "bad.yaml"
    file.write_text(RULES.replace("HOOK", "https://hooks.example.com/x").replace("30,", "130,"))
    result = cli(url, "define", str(file))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "alerts[0].condition.drop_percent: a percentage between 0 and 100" in result.output
    missing = cli(url, "backtest", "nope", "--since", "2026-01-01")
    assert missing.exit_code != 0 and "no alert rule 'nope'" in missing.output
    when = cli(url, "check", "--at", "yesterday")
    assert when.exit_code != 0 and "--at" in when.output

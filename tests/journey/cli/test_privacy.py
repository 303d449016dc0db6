"""`journey privacy delete|requests` on a ClickHouse server database: the person is erased and
the request recorded; usage errors name the options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from journey.cli import main
from storage.server import ServerStore
from tests.analyzer.segments.bases import customers, load
from tests.helpers import server_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database(clickhouse_server: Any) -> Iterator[tuple[ServerStore, str]]:
    with server_database(clickhouse_server) as (store, url):
        load(store, customers(3, people=40), 3)
        yield store, url


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["privacy", *args], env={"JOURNEY_CLICKHOUSE_URL": url})


def test_delete_then_requests(database: tuple[ServerStore, str]) -> None:
    store, url = database
    user = str(
        store.execute(
            f"SELECT user_id FROM {store.database}.events WHERE user_id != '' "
            "GROUP BY user_id ORDER BY count() DESC LIMIT 1"
        )[0][0]
    )
    result = cli(url, "delete", "--user-id", user, "--no-settle", "--format", "json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert done["person_id"] == user and done["rows_deleted"]["events"] > 0
    assert set(done["remaining"].values()) == {0}
    left = store.execute(
        f"SELECT count() FROM {store.database}.events WHERE has(%(ids)s, user_id) "
        "OR has(%(ids)s, anonymous_id)",
        {"ids": done["ids"]},
    )
    assert left[0][0] == 0

    table = cli(url, "delete", "--user-id", user, "--no-settle")  # again: nothing left to erase
    assert table.exit_code == 0 and "nothing remains" in table.output

    listed = cli(url, "requests", "--format", "json")
    assert listed.exit_code == 0, listed.output
    recorded = json.loads(listed.output)
    assert len(recorded) == 2 and done["request_id"] in {r["request_id"] for r in recorded}
    assert user not in listed.output  # digests only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --user-id and --anonymous-id"),
        (["--user-id", "a", "--anonymous-id", "b"], "exactly one of --user-id and --anonymous-id"),
        (["--anonymous-id", " "], "--anonymous-id: give an id of 1 to 1000 characters"),
    ],
)
def test_usage_errors_name_the_option(
    database: tuple[ServerStore, str], args: list[str], message: str
) -> None:
    result = cli(database[1], "delete", "--no-settle", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output

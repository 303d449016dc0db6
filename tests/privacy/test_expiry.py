"""The data retention policy deletes events older than its days, and nothing newer, on the
18.16 server (no TTL: partitions dropped and a mutation), chDB (and a TTL) and the cluster."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from core.settings import Settings
from journey.scheduler import data_expiry
from privacy.expiry import expire, has_ttl
from storage import migrations
from storage.cluster import rows_of
from storage.store import Store

pytestmark = pytest.mark.integration

COLUMNS = ["event_id", "type", "event", "anonymous_id", "timestamp", "timestamp_ms", "loaded_at"]
AGES = {"e400": 400, "e100": 100, "e31": 31, "e30h": 30.01, "e29": 29, "e1": 1}


def _load(store: Store, now: datetime) -> None:
    migrations.apply(store)
    rows = []
    for event_id, days in AGES.items():
        at = now - timedelta(days=days)
        ms = int(at.timestamp() * 1000)
        rows.append((event_id, "track", "Viewed", "a", ms // 1000, ms, 1))
    store.insert("events", COLUMNS, rows)


def _left(store: Store) -> set[str]:
    return {str(r[0]) for r in store.execute(f"SELECT event_id FROM {store.database}.events")}


def _ttl(store: Store) -> str:
    table = rows_of(store, "events").split(".")[-1]
    (create,) = store.execute(
        "SELECT create_table_query FROM system.tables WHERE database = %(db)s AND name = %(t)s",
        {"db": store.database, "t": table},
    )[0]
    found = re.search(r"TTL .*", str(create))
    return found.group(0) if found else ""


def test_events_older_than_the_policy_are_deleted(store: Store) -> None:
    now = datetime.now(UTC)
    _load(store, now)
    done = expire(store, 30, now=now)
    assert _left(store) == {"e29", "e1"}
    assert done.rows_deleted == 4
    horizon_month = f"{(now - timedelta(days=30)):%Y%m}"
    assert set(done.partitions_dropped) >= {f"{(now - timedelta(days=400)):%Y%m}"}
    assert horizon_month not in done.partitions_dropped  # thinned, not dropped
    assert done.ttl == has_ttl(store)
    if done.ttl:  # chDB and ClickHouse 19.6 on keep it between runs too
        assert "toIntervalDay(30)" in _ttl(store)
    again = expire(store, 30, now=now)
    assert (again.rows_deleted, again.partitions_dropped) == (0, [])
    expire(store, 0, now=now)  # keep everything from now on
    assert _left(store) == {"e29", "e1"}
    assert _ttl(store) == ""


@pytest.mark.engines("server", "embedded")  # the scheduling; deletion on the cluster above
def test_journey_up_applies_the_policy_daily(store: Store) -> None:
    now = datetime.now(UTC)
    _load(store, now)
    job = data_expiry(store, Settings(data_retention_days=60))
    line = job.run()
    assert line is not None and "deleted 2 events" in line
    assert _left(store) == {"e31", "e30h", "e29", "e1"}
    assert job.run() is None  # not due again until a day has passed
    assert data_expiry(store, Settings()).run() is None  # 0: keep everything


@pytest.mark.engines("server", "embedded")  # the command; deletion on the cluster above
def test_the_cli_command_for_cron(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from journey import cli
    from journey.cli import expire as command

    now = datetime.now(UTC)
    _load(store, now)
    monkeypatch.setattr(command, "store", lambda config: store)
    result = CliRunner().invoke(cli.main, ["expire", "--days", "200", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"rows_deleted": 1' in result.output
    result = CliRunner().invoke(cli.main, ["expire", "--days", "-1"])
    assert result.exit_code == 2 and "--days" in result.output

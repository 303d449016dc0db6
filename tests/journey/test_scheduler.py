"""The scheduler of `journey up`: jobs run each tick, a failing one never stops the others, and
segments whose schedule is due are refreshed by the running stack."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import replace

import pytest
import requests

from analyzer.segments import catalog
from analyzer.segments.definition import parse_document
from analyzer.segments.refresh import due
from core.settings import Settings, parse_clickhouse_url
from devservices.clickhouse_server import LocalClickHouse
from journey.scheduler import Job, Scheduler, segment_refreshes
from journey.stack import Stack
from storage import migrations
from storage.server import ServerStore
from storage.store import Store
from tests.helpers import AUTH_KEY, post, wait_for

SEGMENTS = {
    "version": 1,
    "segments": [
        {"name": "clickers", "refresh": "1h", "rule": {"did": "Clicked"}},
        {"name": "by_hand", "rule": {"did": "Clicked", "at_least": 2}},
    ],
}


def test_a_failing_job_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken() -> str | None:
        calls.append("broken")
        raise RuntimeError("the store is away")

    def idle() -> str | None:
        calls.append("idle")
        return None

    scheduler = Scheduler(
        [Job("broken", broken), Job("idle", idle), Job("works", lambda: "did it")], 0.01
    )
    with caplog.at_level(logging.INFO, logger="journey.scheduler"):
        assert scheduler.tick() == ["works: did it"]
        assert scheduler.tick() == ["works: did it"]
    assert calls == ["broken", "idle", "broken", "idle"]
    assert "scheduled job broken failed" in caplog.text and "the store is away" in caplog.text


def test_run_ticks_until_stopped() -> None:
    scheduler = Scheduler([Job("idle", lambda: None)], 0.01)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    wait_for(lambda: scheduler.runs >= 3, 10, "three ticks")
    scheduler.stop()
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.integration
def test_due_segments_are_refreshed_once_per_schedule(store: Store) -> None:
    migrations.apply(store)
    catalog.define(store, parse_document(SEGMENTS))
    job = segment_refreshes(store)
    assert due(store) == ["clickers"]  # never refreshed, and by_hand has no schedule
    line = job.run()
    assert line is not None and "clickers" in line and "by_hand" not in line
    assert due(store) == [] and job.run() is None  # not due again for an hour
    rows = store.execute(f"SELECT segment FROM {store.database}.segment_refreshes")
    assert [r[0] for r in rows] == ["clickers"]


@pytest.mark.integration
def test_the_running_stack_refreshes_what_is_due(
    kafka_settings: Settings, clickhouse_server: LocalClickHouse
) -> None:
    url = parse_clickhouse_url(clickhouse_server.url)
    store = ServerStore(url, database=f"t_{uuid.uuid4().hex[:10]}")
    store.execute(f"CREATE DATABASE {store.database}")
    migrations.apply(store)
    catalog.define(store, parse_document(SEGMENTS))
    settings = kafka_settings.with_overrides(
        clickhouse=replace(url, database=store.database),
        collector_port=0,
        schedule_seconds=0.5,
    )
    with Stack(settings) as stack:
        batch = [
            {"type": "track", "event": "Clicked", "anonymousId": f"a{i}", "messageId": f"m{i}"}
            for i in range(5)
        ]
        assert post(stack.collector_url, "/v1/batch", {"batch": batch}, key=AUTH_KEY).ok
        assert stack.wait_loaded(5) == 5
        # the first refresh may have run before the events arrived: make it due again
        store.execute(f"TRUNCATE TABLE {store.database}.segment_refreshes")
        wait_for(
            lambda: (
                store.execute(
                    f"SELECT max(members) FROM {store.database}.segment_refreshes "
                    "WHERE segment = 'clickers'"
                )[0][0]
                == 5
            ),
            60,
            "the scheduler to refresh clickers with the five clickers",
        )
        # the stack serves the analysts' API and dashboard on the collector's port
        token = stack.tokens.create("analyst")  # kept where the stack's API reads them
        answer = requests.get(
            stack.collector_url + "/api/v1/segments",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        members = {s["segment"]: s["members"] for s in answer.json()["result"]}
        assert members["clickers"] == 5
        assert requests.get(stack.collector_url + "/dashboard", timeout=30).status_code == 200
    store.execute(f"DROP DATABASE {store.database}")


@pytest.mark.integration
def test_due_alert_rules_are_evaluated_once_per_every(store: Store, settings: Settings) -> None:
    from alerts import catalog as alert_catalog
    from alerts.rules import parse_document as parse_rules
    from journey.scheduler import alert_checks

    migrations.apply(store)
    rules = {
        "version": 1,
        "alerts": [
            {
                "name": "clicks",
                "funnel": {"steps": ["Clicked", "Bought"], "window": "1h"},
                "every": "1h",
                "condition": {"below": 0.1},
                "channels": [{"log": True}],
            }
        ],
    }
    alert_catalog.define(store, parse_rules(rules))
    job = alert_checks(store, settings)
    assert job.run() == "evaluated clicks: 0 notice(s)"  # nobody entered: no verdict
    assert job.run() is None  # not due for an hour
    (count,) = store.execute(f"SELECT count() FROM {store.database}.alert_evaluations")[0]
    assert count == 1

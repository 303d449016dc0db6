"""The CLI: clear messages naming the field, write keys, and `journey up` end to end."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from core.settings import Settings
from journey.cli import main
from tests.helpers import post, wait_for


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without JOURNEY_* variables, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}
    env.update(settings)
    return env


def test_a_bad_setting_is_a_message_naming_the_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["keys", "list"],
        env={"JOURNEY_TOPIC_PARTITIONS": "many", "JOURNEY_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code != 0
    assert "JOURNEY_TOPIC_PARTITIONS" in result.output and "Traceback" not in result.output


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"JOURNEY_DATA_DIR": str(tmp_path)}
    created = runner.invoke(main, ["keys", "create", "website"], env=env)
    assert created.exit_code == 0
    key = created.output.strip()
    assert len(key) >= 24
    listed = runner.invoke(main, ["keys", "list"], env=env)
    assert "website" in listed.output and key in listed.output
    assert runner.invoke(main, ["keys", "revoke", "website"], env=env).exit_code == 0
    again = runner.invoke(main, ["keys", "revoke", "website"], env=env)
    assert again.exit_code != 0 and "no active write key" in again.output
    assert runner.invoke(main, ["keys", "create", " "], env=env).exit_code != 0


def test_key_origin_allowlists(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"JOURNEY_DATA_DIR": str(tmp_path)}
    made = runner.invoke(
        main, ["keys", "create", "shop", "--origin", "https://Shop.example/"], env=env
    )
    assert made.exit_code == 0, made.output
    assert "https://shop.example" in runner.invoke(main, ["keys", "list"], env=env).output
    bad = runner.invoke(main, ["keys", "create", "x", "--origin", "shop.example"], env=env)
    assert bad.exit_code != 0 and "--origin: 'shop.example' is not an origin" in bad.output
    changed = runner.invoke(main, ["keys", "origins", "shop", "https://*.shop.example"], env=env)
    assert changed.exit_code == 0 and "https://*.shop.example" in changed.output
    cleared = runner.invoke(main, ["keys", "origins", "shop"], env=env)
    assert cleared.exit_code == 0 and "any origin" in cleared.output
    assert "(any)" in runner.invoke(main, ["keys", "list"], env=env).output
    missing = runner.invoke(main, ["keys", "origins", "nobody", "https://a.example"], env=env)
    assert missing.exit_code != 0 and "no active write key" in missing.output


@pytest.mark.integration
def test_journey_up_runs_the_pipeline_and_serves_its_store(tmp_path: Path) -> None:
    env = clean_env(
        JOURNEY_DATA_DIR=str(tmp_path / "data"),
        JOURNEY_COLLECTOR_PORT="0",
        JOURNEY_WRITE_KEYS="site:up-test-key",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "journey.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = tmp_path / "data" / "up.url"
    try:
        wait_for(marker.is_file, 120, "journey up to start")
        url = marker.read_text().strip()
        batch = [
            {"type": "track", "event": "Clicked", "anonymousId": f"a{i}", "messageId": f"m{i}"}
            for i in range(25)
        ]
        assert post(url, "/v1/batch", {"batch": batch}, key="up-test-key").status_code == 200
        wait_for(
            lambda: requests.get(url + "/api/summary", timeout=30).json()["events"] == 25,
            60,
            "the events to load",
        )
        # another process asks the running stack, since it holds the embedded store
        report = subprocess.run(
            [sys.executable, "-m", "journey.cli", "report", "summary"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert report.returncode == 0, report.stderr
        assert "events: 25" in report.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "collector: http://" in out and not marker.exists()


@pytest.mark.integration
def test_report_on_an_empty_store_is_zeros_not_a_traceback(tmp_path: Path) -> None:
    env = clean_env(JOURNEY_DATA_DIR=str(tmp_path / "empty"))
    done = subprocess.run(
        [sys.executable, "-m", "journey.cli", "report", "summary"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "events: 0" in done.stdout and "Traceback" not in done.stderr


def test_unreachable_clickhouse_is_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(
        JOURNEY_DATA_DIR=str(tmp_path), JOURNEY_CLICKHOUSE_URL="clickhouse://127.0.0.1:1/journey"
    )
    done = subprocess.run(
        [sys.executable, "-m", "journey.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "ClickHouse is unreachable" in done.stderr and "Traceback" not in done.stderr


def test_the_local_api_answers_only_this_machine(settings: Settings) -> None:
    from collector.app import create_app
    from journey import local_api
    from tests.conftest import FakeSink

    app = create_app(settings, sink=FakeSink())
    app.register_blueprint(local_api.bp)
    client = app.test_client()
    r = client.get("/api/summary", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 403 and "only this machine" in r.json["error"]
    # a reverse proxy on this machine forwards the world's requests from loopback
    r = client.get(
        "/api/summary",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 403
    # with a trusted proxy, X-Forwarded-For rewrites the client address; not the peer's
    proxied = create_app(settings.with_overrides(trusted_proxies=1), sink=FakeSink())
    proxied.register_blueprint(local_api.bp)
    r = proxied.test_client().get(
        "/api/summary",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert r.status_code == 403

"""The CLI: clear messages naming the field, write keys, and `journey up` end to end."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from core.settings import Settings
from journey.cli import main
from tests.helpers import wait_for


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
    server = runner.invoke(main, ["keys", "create", "backend", "--kind", "server"], env=env)
    assert server.exit_code == 0, server.output
    row = next(line for line in runner.invoke(main, ["keys", "list"], env=env).output.splitlines()
               if server.output.strip() in line)  # fmt: skip
    assert "server" in row.split()
    wrong = runner.invoke(main, ["keys", "create", "x", "--kind", "mobile"], env=env)
    assert wrong.exit_code == 2 and "--kind" in wrong.output


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


def journey(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journey.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def curl(url: str, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the README's first-event step runs: curl itself, its own user agent and all."""
    done = subprocess.run(
        ["curl", "-sS", "-u", f"{key}:", "-H", "Content-Type: application/json"]
        + ["-d", json.dumps(body), url + path],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def brokers() -> int:
    """The bundled brokers running on this machine."""
    found = subprocess.run(["pgrep", "-c", "-f", "tansu"], capture_output=True, text=True)
    return int(found.stdout.strip() or 0)


@pytest.mark.integration
def test_a_newcomers_first_hour_on_journey_up(tmp_path: Path) -> None:
    """The README's path, played as a newcomer would: `journey up` hands out a server key; the
    first event, sent with curl, counts in a funnel and a trend asked from the shell while the
    stack runs; a misspelt step is warned with the name meant; `journey status` finds the
    running stack; a second `journey up` on the same port is refused and leaves nothing behind."""
    env = clean_env(
        JOURNEY_DATA_DIR=str(tmp_path / "data"), JOURNEY_COLLECTOR_PORT="0", PYTHONUNBUFFERED="1"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "journey.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = tmp_path / "data" / "up.url"
    said: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # until it says it is up
            said.append(line)
            if line.startswith("Ctrl-C"):
                break
        keys = dict(
            (line.split("(")[1].split(",")[1].strip(" )\n"), line.split()[2])
            for line in said
            if line.startswith("write key:")
        )
        assert set(keys) == {"browser", "server"}, said
        url = marker.read_text().strip()
        for event in ("Product Viewed", "Order Completed"):
            answer = curl(url, keys["server"], "/v1/track", {"anonymousId": "a1", "event": event})
            assert answer["accepted"] == 1, answer
        refused = curl(url, keys["server"], "/v1/track", {"anonymousId": "a1"})
        assert refused["code"] == "invalid_request" and "event" in refused["rejected"][0]["reason"]
        wait_for(
            lambda: requests.get(url + "/api/summary", timeout=30).json()["events"] == 2,
            60,
            "the events to load",
        )
        # watching them arrive: the shell's tail and the dashboard's live pane
        tailed = journey(env, "tail", "--last", "5", "--count", "3", "--format", "json")
        assert tailed.returncode == 0, tailed.stderr
        lines = [json.loads(line) for line in tailed.stdout.splitlines()]
        assert {(x["kind"], x["event"]) for x in lines if x["kind"] == "event"} == {
            ("event", "Product Viewed"),
            ("event", "Order Completed"),
        }
        assert all(x["device"] != "bot" and x["source"] == "backend" for x in lines[:2])
        assert "event" in next(x for x in lines if x["kind"] == "dead_letter")["reason"]
        token = next(line.split()[-1] for line in said if "analyst token" in line)
        live = requests.get(
            url + "/api/v1/live", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()["result"]
        assert [x["kind"] for x in live] == ["dead_letter", "event", "event"]
        steps = ("--step", "Product Viewed", "--step", "Order Completed")
        funnel = journey(env, "report", "funnel", *steps, "--format", "json")
        assert funnel.returncode == 0, funnel.stderr
        assert [s["people"] for s in json.loads(funnel.stdout)["steps"]] == [1, 1]
        assert funnel.stderr == ""  # every step occurs: no warning
        trend = journey(env, "report", "trends", "--event", "Product Viewed", "--format", "json")
        assert trend.returncode == 0, trend.stderr
        assert [s["total"] for s in json.loads(trend.stdout)["series"]] == [1]
        table = journey(env, "report", "trends", "--event", "Product Viewed")
        assert table.returncode == 0 and "None" not in table.stdout

        misspelt = journey(
            env, "report", "funnel", "--step", "Product Viewed", "--step", "Order Complete"
        )
        assert misspelt.returncode == 0, misspelt.stderr
        assert "did you mean 'Order Completed'?" in misspelt.stderr
        wrong = journey(env, "report", "funnel", *steps, "--window", "7x")
        assert wrong.returncode == 2 and "--window" in wrong.stderr
        assert "Traceback" not in wrong.stderr

        status = journey(env, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"`journey up` is running at {url}" in status.stdout
        assert "last load:" in status.stdout and "never" not in status.stdout

        running = brokers()
        port = url.rsplit(":", 1)[1]
        again = subprocess.run(
            [sys.executable, "-m", "journey.cli", "up"],
            env={**env, "JOURNEY_COLLECTOR_PORT": port},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 1, again.stderr
        assert "JOURNEY_COLLECTOR_PORT" in again.stderr and "Traceback" not in again.stderr
        assert brokers() == running  # the refused one started no broker, or stopped it
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert not marker.exists()


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


def test_journey_api_on_the_embedded_store_says_what_to_use(tmp_path: Path) -> None:
    """Its forked worker could never open chDB (it hung, answering nothing): it refuses at
    once, naming the setting and `journey up`."""
    done = subprocess.run(
        [sys.executable, "-m", "journey.cli", "api"],
        env=clean_env(JOURNEY_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "JOURNEY_CLICKHOUSE_URL" in done.stderr and "journey up" in done.stderr

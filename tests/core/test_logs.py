"""Log lines as text or as one JSON object per line (JOURNEY_LOG_FORMAT), and `--version`."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from click.testing import CliRunner

from core.logs import JsonFormatter, gunicorn_config


def test_a_json_line_carries_the_record_and_its_traceback() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("journey.test").makeRecord(
            "journey.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and line["logger"] == "journey.test"
    assert line["message"] == "failed x" and "ValueError: bad" in line["exception"]
    assert line["time"].endswith("+00:00")
    config = gunicorn_config("json")
    assert config["formatters"] == {"generic": {"()": JsonFormatter}}
    assert config["loggers"]["gunicorn.access"]["handlers"] == []  # its user: the write key
    # gunicorn itself runs it in tests/core/test_metrics.py, whose pipeline logs JSON


def test_every_process_logs_json_when_asked() -> None:
    code = (
        "import logging, sys\n"
        "from journey.cli import main\n"
        "@main.command('hello')\n"
        "def hello():\n"
        "    logging.getLogger('journey.hello').warning('hi %s', 1)\n"
        "sys.argv = ['journey', 'hello']\n"
        "main()\n"
    )
    env = {"JOURNEY_LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["logger"], line["message"], line["level"]) == ("journey.hello", "hi 1", "warning")


def test_the_version_is_the_package_s() -> None:
    from journey.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("journey, version ")

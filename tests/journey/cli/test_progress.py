"""Progress shows on a terminal only, never with --format json, and not as a flood."""

from __future__ import annotations

import io
from pathlib import Path

from core.progress import silent
from journey.cli.progress import Terminal, terminal


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stages_show_on_a_terminal_with_their_time() -> None:
    out = Tty()
    report = terminal("table", out)
    assert isinstance(report, Terminal)
    report("reading definitions")
    for i in range(1, 101):
        report(f"evaluated {i} of 100")
    report.done()
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("] reading definitions")
    assert lines[-2].endswith("evaluated 100 of 100") and lines[-1].endswith("] done")
    assert len(lines) < 10  # a hundred steps, a few lines
    assert all(line.startswith("[") and "s] " in line for line in lines)


def test_nothing_with_json_or_without_a_terminal() -> None:
    assert terminal("json", Tty()) is silent
    assert terminal("table", io.StringIO()) is silent


def test_a_refresh_on_a_terminal_tells_its_stages_and_its_json_stays_clean(
    tmp_path: Path,
) -> None:
    """`journey segments refresh` run with stderr on a pseudo-terminal, as a person runs it."""
    import json
    import os
    import pty
    import subprocess
    import sys

    segments = tmp_path / "segments.yaml"
    segments.write_text("version: 1\nsegments:\n  - name: buyers\n    rule: {did: Buy}\n")
    env = {"PATH": os.environ["PATH"], "JOURNEY_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "journey.cli", "segments", "refresh", "--file", str(segments)]
    for fmt in ("table", "json"):
        leader, follower = pty.openpty()
        done = subprocess.run(
            [*command, "--format", fmt], env=env, stdout=subprocess.PIPE, stderr=follower
        )
        os.close(follower)
        told = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            told += chunk
        os.close(leader)
        assert done.returncode == 0
        if fmt == "json":
            assert b"pass 1" not in told
            assert json.loads(done.stdout)["segments"][0]["segment"] == "buyers"
        else:
            text = told.decode()
            assert "] reading the definitions" in text and "pass 1: one pass" in text
            assert "] refreshed in all" in text

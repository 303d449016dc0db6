"""`journey status` shows each part it can read, and says in its place why one cannot be read
(the running pipeline's status is checked in tests/core/test_metrics.py)."""

from __future__ import annotations

from pathlib import Path

from core.processes import free_port
from core.settings import Settings
from journey.cli.status import text
from reports.status import status


def test_an_unreadable_part_says_why_and_the_others_still_show(tmp_path: Path) -> None:
    nowhere = Settings(data_dir=tmp_path, kafka_bootstrap_servers=(f"127.0.0.1:{free_port()}",))
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "1.seg").write_bytes(b"x" * 10)
    found = status(nowhere, None, "`journey up` holds the embedded store", timeout_ms=1000)
    assert "error" in found["kafka"]
    assert found["spool"]["segments"] == 1 and found["spool"]["bytes"] == 10
    assert found["load"] == {"error": "`journey up` holds the embedded store"}
    shown = text(found)
    assert "consumer lag: unknown" in shown and "1 segments, 10 of" in shown
    assert "last load: unknown (`journey up` holds the embedded store)" in shown

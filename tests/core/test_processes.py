"""Ports for services about to start: never the same one to two processes asking at once."""

from __future__ import annotations

import subprocess
import sys

from core.processes import free_port


def test_two_processes_taking_ports_at_once_never_share_one() -> None:
    """Each takes 300 ports while the other does (the same range of ~22,000, where chance alone
    would give them about four in common); a port one holds is never given to the other."""
    code = "from core.processes import free_port\nprint(*(free_port() for _ in range(300)))"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    mine = {free_port() for _ in range(300)}
    out, _ = child.communicate(timeout=60)
    theirs = set(map(int, out.split()))
    assert len(mine) == len(theirs) == 300
    assert not mine & theirs

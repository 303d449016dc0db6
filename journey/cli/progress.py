"""Progress on the terminal: each stage of long work on stderr with the seconds it began at, so
a person sees what is happening and what took long. Only on a terminal, and never with
``--format json`` (whose output is for programs): elsewhere it says nothing."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from core.progress import Report, silent


class Terminal:
    """Writes stages as they come; a run of lines of one kind ("evaluated 12 of 400") at most
    twice a second, and always its last one."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.kind = ""
        self.held = ""

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        kind = "".join(c for c in line.split(":", 1)[0] if not c.isdigit())  # "evaluated  of "
        if kind == self.kind and now - self.shown_at < 0.5:
            self.held = line  # shown later, or at the end
            return
        self._show(line, now)
        self.kind = kind

    def _show(self, line: str, now: float) -> None:
        self.stream.write(f"[{now - self.started:6.1f}s] {line}\n")
        self.stream.flush()
        self.shown_at, self.held = now, ""

    def done(self, line: str = "done") -> None:
        if self.held:
            self._show(self.held, time.monotonic())
        self._show(line, time.monotonic())


def terminal(fmt: str = "table", stream: TextIO | None = None) -> Report:
    """The reporter for a command printing ``fmt``: the terminal's, or silent."""
    out = stream or sys.stderr
    if fmt == "json" or not out.isatty():
        return silent
    return Terminal(out)


def finish(report: Report, line: str = "done") -> None:
    """The last line of a terminal's progress (with the total time); nothing otherwise."""
    if isinstance(report, Terminal):
        report.done(line)

"""Progress of long work, told to whoever asked: a function taking one line, ``Report``.

The work says where it is (``report("pass 1 of 2: computing features")``); the CLI passes a
reporter that writes to the terminal with the time taken so far (journey/cli/progress.py),
everyone else the default, ``silent``.
"""

from __future__ import annotations

from collections.abc import Callable

Report = Callable[[str], None]


def silent(line: str) -> None:
    """Tell nobody."""

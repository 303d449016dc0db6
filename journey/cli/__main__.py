"""``python -m journey.cli``: the console script ``journey``."""

from journey.cli import run

run()

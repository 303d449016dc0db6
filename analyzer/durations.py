"""The one way a duration is written and read, wherever one is given: a whole number and a unit,
``30s``, ``15m``, ``6h``, ``7d`` or ``2w``, from one second to ten years.

Segment and alert documents (``refresh``, ``every``, ``window``), report parameters of the API
and the CLI's options all parse with ``parse`` and word their errors with ``EXAMPLE``, so the
same text means the same thing everywhere (``0d`` is refused by each of them, and a number too
large for a date is an error that names the field, not an OverflowError).
"""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST = timedelta(days=3653)
EXAMPLE = "a duration like 30m, 12h or 7d"
_FORM = re.compile(r"^(\d{1,12})([smhdw])\Z")


def parse(text: object) -> timedelta:
    """The duration ``text`` says; ValueError (saying why, without the field's name) if none."""
    m = _FORM.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{str(text)[:40]!r} is not {EXAMPLE}")
    seconds = int(m[1]) * UNITS[m[2]]
    if seconds == 0:
        raise ValueError(f"{text!r}: a duration must be at least 1s")
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"{text!r}: a duration must be at most 10 years")
    return timedelta(seconds=seconds)

"""Where a funnel's attempts may start: the specification's date range, or that range and the
one before it read together (each person then comes once per period they start in).

Both bind nothing of their own: ``%(from_ms)s``, ``%(to_ms)s`` and ``%(previous_ms)s`` are
the funnel's (analyzer.funnels.people).
"""

from __future__ import annotations


class OnePeriod:
    """Attempts start inside the date range."""

    columns: tuple[str, ...] = ()  # what a person's row carries besides the funnel's columns

    def bounds(self) -> list[str]:
        """Arrays the start filter reads besides the timeline's (none)."""
        return []

    def starts(self, args: str, arrays: str, bits: str, name: str) -> str:
        """``arrays`` (lambda arguments ``args``, the time ``t`` among them) where an event
        meets ``bits`` inside the period: ``name``."""
        return (
            f"arrayFilter(({args}) -> {bits} AND t >= %(from_ms)s AND t < %(to_ms)s, "
            f"{arrays}) AS {name}"
        )

    def source(self, source: str, start_bits: int) -> str:
        """The timelines, one row per person."""
        return source


class TwoPeriods(OnePeriod):
    """Attempts start in the range (``period`` 1) or in the one before it, from
    ``previous_ms`` (``period`` 0): one timeline read for both, as two funnels would."""

    columns = ("period",)

    def bounds(self) -> list[str]:
        """``_lo`` and ``_hi``: where the row's period's attempts may start, as arrays the
        length of the timeline (old servers take no captured names in lambdas)."""
        lo = "if(period = 1, %(from_ms)s, %(previous_ms)s)"
        hi = "if(period = 1, %(to_ms)s, %(from_ms)s)"
        return [
            f"arrayResize([toUInt64({lo})], length(T), toUInt64({lo})) AS _lo",
            f"arrayResize([toUInt64({hi})], length(T), toUInt64({hi})) AS _hi",
        ]

    def starts(self, args: str, arrays: str, bits: str, name: str) -> str:
        return (
            f"arrayFilter(({args}, lo, hi) -> {bits} AND t >= lo AND t < hi, "
            f"{arrays}, _lo, _hi) AS {name}"
        )

    def source(self, source: str, start_bits: int) -> str:
        """Each person once per period they start an attempt in (an event with one of
        ``start_bits`` in its mask there)."""
        starts = [
            f"arrayExists((t, x) -> bitAnd(x, {start_bits}) != 0 AND t >= %({lo})s "
            f"AND t < %({hi})s, times, m)"
            for lo, hi in (("previous_ms", "from_ms"), ("from_ms", "to_ms"))
        ]
        return (
            "(SELECT *, arrayJoin(arrayFilter(p -> p < 2, "
            f"[if({starts[0]}, 0, 2), if({starts[1]}, 1, 2)])) AS period FROM {source})"
        )

"""Render report rows as a text table, JSON or CSV (the `--format` of every report command)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

FORMATS = ("table", "json", "csv")


def format_option(*formats: str) -> Any:
    """The ``--format`` option of a command printing results in ``formats``."""
    import click

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats)),
        default=formats[0],
        show_default=True,
    )


FORMAT = format_option(*FORMATS)


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """What JSON cannot hold, as text: dates and times in ISO 8601 (``T`` between them)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def json_text(value: Any, indent: int | None = 2) -> str:
    """JSON as Journey writes it everywhere (the CLI, the API, saved files): ISO 8601 dates and
    times, null for NaN and infinities."""
    return json.dumps(finite(value), indent=indent, default=_plain)


def render(rows: Sequence[dict[str, Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return json_text(list(rows))
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
        return out.getvalue()
    if fmt != "table":
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    cells = [[cell(row.get(c, ""), c) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths, strict=True))
        for r in cells
    ]
    return "\n".join(lines)


# What a spreadsheet opening a CSV file takes for the start of a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows rather than evaluates: text starting like a formula gets a
    leading single quote, as OWASP advises (event names, property values and ids are whatever
    visitors sent). Numbers, and text that is only a number such as "-3", are left as they are."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class Share(float):
    """A proportion: a table shows it as a percentage (JSON and CSV as the number)."""


class Plain(float):
    """A number that is not a proportion, whatever its column is called: two decimals."""


# Columns whose numbers are proportions, and columns holding p-values, by name.
_SHARE_COLUMN = re.compile(
    r"(^|_)(conversion|rate|share|retention|relative)(_|$)|from start|from previous|%"
)
_P_COLUMN = re.compile(r"^(p|p_value|p-value)\Z")


def cell(value: Any, column: str = "") -> str:
    """A table cell by what the value is: a proportion as a percentage (``Share``, or a number
    in a column named like one: conversion, rate, share...), a p-value as a decimal (0.031, or
    < 0.001), any other number with two decimals (0.80); text as it is."""
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != value:
        return ""
    if _P_COLUMN.match(column) and not isinstance(value, (Share, Plain)):
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if isinstance(value, Share) or (_SHARE_COLUMN.search(column) and not isinstance(value, Plain)):
        return f"{value:.1%}"
    return f"{value:,.2f}"


_NUMBER_CELL = re.compile(r"^[<>]?\s?[-+]?[\d,]*\.?\d+(e[-+]?\d+)?%?[a-z]?\Z")


def _numeric(text: str) -> bool:
    """Numbers (negative ones, percentages, durations like 2.4m) align right."""
    return bool(_NUMBER_CELL.match(text))


def emit(result: Any, rows: Sequence[dict[str, Any]], fmt: str) -> None:
    """Print a command's result: ``result`` itself as JSON, else ``rows`` as a table or CSV."""
    import click

    if fmt == "json":
        click.echo(json_text(result))
    else:
        click.echo(render(rows, fmt).rstrip("\n") if rows else "(nothing)")


def duration_text(seconds: float | None) -> str:
    """Seconds as a short reading: 45s, 2.4m, 3.0h, 1.8d ('' for none)."""
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def rejected_rows(rejected: Sequence[tuple[int, str]], imported: int, shown: int = 20) -> None:
    """An import's refused rows on stderr, by line; fails the command if nothing loaded."""
    import click

    for line, reason in rejected[:shown]:
        click.echo(f"  line {line}: {reason}", err=True)
    if len(rejected) > shown:
        click.echo(f"  ... and {len(rejected) - shown} more rejected rows", err=True)
    if rejected and not imported:
        raise click.ClickException("no row could be imported")

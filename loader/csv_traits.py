"""Load customer attributes from a CRM or survey export (CSV) as traits of identified users.

Each row becomes an ``identify`` (or, for companies, a ``group``) event, built by the
collector's own enrichment and checked by the loader's own validation, then written to the
events table like any loaded batch. So an imported trait is read exactly like a trait the
website sent: the latest value wins, and segments, breakdowns and reports see it.

* The id column names the user (``user_id`` by default) or the company (``--kind groups``);
* cells that are empty are not traits (a blank cell never erases a value);
* numbers stay numbers (``42``, ``3.5``), ``true``/``false`` become booleans;
* an event id derived from the file's content and the row makes importing the same file
  twice harmless (analytics read each event id once);
* a row without an id, or with a value Journey cannot load, is reported with its line number
  and column; the good rows beside it load.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.enrich import RequestInfo, build_event
from core.progress import Report, silent
from loader import csv_file
from loader.decode import COLUMNS, Invalid, to_row
from loader.write import Writer
from storage.store import Store

KINDS = ("users", "groups")
MAX_ROWS_PER_INSERT = 10_000
_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,14})(\.\d+)?\Z")
_TRAIT = re.compile(r"^[A-Za-z0-9_\-]{1,100}\Z")


class CsvImportError(ValueError):
    """The file as a whole cannot be imported; the message says why."""


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _typed(text: str) -> Any:
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def import_csv(
    store: Store,
    path: Path,
    id_column: str = "user_id",
    kind: str = "users",
    at: datetime | None = None,
    progress: Report = silent,
) -> ImportResult:
    """Import ``path``; rows that cannot load are reported, the rest are written."""
    if kind not in KINDS:
        raise CsvImportError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    header, records, digest = csv_file.read(path, CsvImportError)
    if id_column not in header:
        raise CsvImportError(
            f"{path}: no column {id_column!r} (the id column); columns: {', '.join(header) or 'none'}"
        )
    bad = [h for h in header if h != id_column and not _TRAIT.match(h or "")]
    if bad:
        raise CsvImportError(
            f"{path}: column {bad[0]!r} is not a trait name (letters, digits, _ and -)"
        )
    at = at or datetime.now(UTC)
    request = RequestInfo(received_at=at, source=f"import:{path.name}"[:100], anonymize_ip=True)
    result = ImportResult()
    rows: list[tuple[Any, ...]] = []
    lines: list[int] = []
    writer = Writer(store, "events", COLUMNS)
    for index, (line, record) in enumerate(records):
        result.rows += 1
        if None in record:  # more cells than the header has columns
            result.rejected.append((line, "more cells than columns"))
            continue
        ident = (record.get(id_column) or "").strip()
        if not ident:
            result.rejected.append((line, f"{id_column}: empty"))
            continue
        if len(ident) > 200:
            result.rejected.append((line, f"{id_column}: longer than 200 characters"))
            continue
        traits = {
            k: _typed(v.strip())
            for k, v in record.items()
            if k is not None and k != id_column and v and v.strip()
        }
        message: dict[str, Any] = {
            "type": "identify" if kind == "users" else "group",
            "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"journey-import:{digest}:{index}")),
            "timestamp": at.isoformat(),
            "traits": traits,
        }
        if kind == "users":
            message["userId"] = ident
        else:
            message["groupId"] = ident
        try:
            rows.append(to_row(build_event(message, request)))
            lines.append(line)
        except (Invalid, ValueError) as exc:
            result.rejected.append((line, str(exc)))
            continue
        if len(rows) >= MAX_ROWS_PER_INSERT:
            progress(f"read {result.rows:,} rows, writing")
            _flush(writer, rows, lines, result)
    progress(f"read {result.rows:,} rows, writing the last")
    _flush(writer, rows, lines, result)
    return result


def _flush(
    writer: Writer, rows: list[tuple[Any, ...]], lines: Sequence[int], result: ImportResult
) -> None:
    refused = writer.write(rows)
    result.imported += len(rows) - len(refused)
    result.rejected += [(lines[i], reason) for i, reason in refused]
    rows.clear()
    if isinstance(lines, list):
        lines.clear()

"""Reading a CSV export for an import: UTF-8 (a byte-order mark allowed), a header of distinct
column names, then each row with its line number. What makes the whole file unreadable is an
error naming the file, and the line where there is one (issue 28: a cell over the csv module's
128 KiB limit raised an error naming neither; a column named twice kept its last cell)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

Record = dict[str | None, str | None]  # csv.DictReader's: None keys extra cells, None values
# missing ones


class CsvFile(NamedTuple):
    header: list[str]
    rows: Iterator[tuple[int, Record]]  # (line, record)
    sha256: str  # of the file's bytes, as read


def read(path: Path, error: type[ValueError], strip: bool = False) -> CsvFile:
    """The header (names stripped with ``strip``), the rows and the digest of ``path``, read
    once; ``error`` is raised with the reason for a file that cannot be read, there or while
    its rows are read."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise error(f"{path}: line {reader.line_num}: {_reason(exc)}") from None
    if strip:
        header = [h.strip() for h in header]
        reader.fieldnames = header
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise error(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)

    def rows() -> Iterator[tuple[int, Record]]:
        try:
            for record in reader:
                yield reader.line_num, record
        except csv.Error as exc:
            raise error(f"{path}: line {reader.line_num + 1}: {_reason(exc)}") from None

    return CsvFile(header, rows(), hashlib.sha256(raw).hexdigest())


def _reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell longer than {csv.field_size_limit() // 1024} KiB"
    return text

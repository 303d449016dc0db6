"""A bounded on-disk spool for events Kafka could not take right now.

Records are appended to segment files and fsync'd before the collector answers 2xx. A segment is
``<time_ns>-<pid>.open`` while a process writes it (holding an flock on it) and ``.seg`` once
sealed; the replayer takes segments oldest first, so order is kept. A segment left ``.open`` by
a dead process is unlocked, and so is replayed too. A torn last line (a crash mid-write) was
never acknowledged and is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson


class SpoolFull(RuntimeError):
    """The spool is at its size limit: the collector answers 503 with Retry-After."""


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes


def encode(record: Record) -> bytes:
    return orjson.dumps([record.topic, record.key.decode()]) + b"\t" + record.value + b"\n"


def decode(line: bytes) -> Record | None:
    head, sep, value = line.rstrip(b"\n").partition(b"\t")
    try:
        topic, key = orjson.loads(head)
        orjson.loads(value)
    except (orjson.JSONDecodeError, ValueError):
        return None
    return Record(topic, key.encode(), value) if sep else None


def used_bytes(folder: Path) -> int:
    """Bytes a spool folder holds (what its size cap counts)."""
    total = 0
    for entry in os.scandir(folder):
        with contextlib.suppress(FileNotFoundError):  # replayed away meanwhile
            total += entry.stat().st_size
    return total


def segment_paths(folder: Path) -> list[Path]:
    """A spool folder's segments, oldest first (the one being written ends in .open)."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".seg", ".open"))


class Spool:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None

    def used_bytes(self) -> int:
        return used_bytes(self.folder)

    def is_empty(self) -> bool:
        with self._lock:
            return self._file is None and not any(self._segment_paths())

    def append(self, records: list[Record]) -> None:
        """Write records durably (fsync) or raise SpoolFull / OSError."""
        data = b"".join(encode(r) for r in records)
        with self._lock:
            if self.used_bytes() + len(data) > self.max_bytes:
                raise SpoolFull(f"spool at {self.folder} is full ({self.max_bytes} bytes)")
            if self._file is None:
                self._path = self.folder / f"{time.time_ns():020d}-{os.getpid()}.open"
                self._file = open(self._path, "ab")  # noqa: SIM115 - held open across calls
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())

    def seal(self) -> None:
        """Close this process's open segment so the replayer may take it."""
        with self._lock:
            if self._file is None or self._path is None:
                return
            self._path.rename(self._path.with_suffix(".seg"))
            self._file.close()  # releases the flock
            self._file = None
            self._path = None

    def _segment_paths(self) -> list[Path]:
        return segment_paths(self.folder)

    @contextmanager
    def claim(self) -> Iterator[tuple[Path, list[Record]] | None]:
        """The oldest segment nobody writes or replays, locked while in use; None if none."""
        for path in self._segment_paths():
            if path == self._path:
                continue
            try:
                handle = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                if not path.exists():  # replayed and removed by another process meanwhile
                    continue
                records = [r for r in map(decode, handle.read().splitlines(keepends=True)) if r]
                yield path, records
                return
            finally:
                handle.close()
        yield None

"""Write keys: which source an event came from, and whether it may come in at all.

Keys live in ``JOURNEY_DATA_DIR/keys.sqlite3`` (managed with ``journey keys``) and may be seeded
by ``JOURNEY_WRITE_KEYS``. Write keys are not secrets (they sit in web pages) but identify a source
and can be revoked; revocation reaches running collectors within ``REFRESH_SECONDS``.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class WriteKey:
    name: str
    key: str
    created_at: str
    revoked_at: str | None


class KeyStore:
    def __init__(self, path: Path, seed: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.seed = dict(seed or {})
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS write_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, "
                "created_at TEXT NOT NULL, revoked_at TEXT)"
            )
        self._cache: dict[str, str] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def create(self, name: str) -> str:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a key's name must be 1 to 100 characters")
        key = secrets.token_urlsafe(24)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute("INSERT INTO write_keys VALUES (?, ?, ?, NULL)", (key, name, now))
        self._loaded_at = 0.0
        return key

    def list(self) -> list[WriteKey]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, key, created_at, revoked_at FROM write_keys ORDER BY created_at"
            ).fetchall()
        return [WriteKey(*row) for row in rows]

    def revoke(self, name_or_key: str) -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            count = db.execute(
                "UPDATE write_keys SET revoked_at = ? WHERE (key = ? OR name = ?) AND revoked_at IS NULL",
                (now, name_or_key, name_or_key),
            ).rowcount
        self._loaded_at = 0.0
        return count

    def source_of(self, key: str) -> str | None:
        """The source name of an active key, or None."""
        if key in self.seed:
            return self.seed[key]
        with self._lock:
            if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
                with self._db() as db:
                    rows = db.execute(
                        "SELECT key, name FROM write_keys WHERE revoked_at IS NULL"
                    ).fetchall()
                self._cache = dict(rows)
                self._loaded_at = time.monotonic()
            return self._cache.get(key)

"""Write keys: which source an event came from, and whether it may come in at all.

Keys live in ``JOURNEY_DATA_DIR/keys.sqlite3`` (managed with ``journey keys``) and may be seeded
by ``JOURNEY_WRITE_KEYS``. Write keys are not secrets (they sit in web pages) but identify a source
and can be revoked; revocation reaches running collectors within ``REFRESH_SECONDS``.

Since a web page's key can be copied, a key may carry an origin allowlist: a browser request
whose ``Origin`` is not on it is refused, so another site cannot send events as this one (a
server, which sends no Origin, is not affected). ``https://*.shop.example`` allows subdomains.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REFRESH_SECONDS = 5.0
MAX_ORIGINS = 50
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def parse_origin(text: str) -> str:
    """``scheme://host[:port]`` in lower case, or ValueError saying what is wrong."""
    raw = text.strip().lower().rstrip("/")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} is not an origin like https://shop.example") from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not _HOST.match(host):
        raise ValueError(f"{text!r} is not an origin like https://shop.example")
    if parts.path or parts.query or parts.fragment or parts.username:
        raise ValueError(
            f"{text!r}: an origin has no path, query or user, only scheme://host[:port]"
        )
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    """True if ``origin`` (the request's Origin header) is on ``allowed``."""
    try:
        wanted = parse_origin(origin)
    except ValueError:
        return False
    for entry in allowed:
        if entry == wanted:
            return True
        scheme, _, host = entry.partition("://")
        if host.startswith("*."):
            got_scheme, _, got_host = wanted.partition("://")
            if got_scheme == scheme and got_host.endswith(host[1:]):
                return True
    return False


@dataclass(frozen=True)
class WriteKey:
    name: str
    key: str
    created_at: str
    revoked_at: str | None
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """What an active key admits: its source's name, and the origins allowed (empty: any)."""

    name: str
    origins: tuple[str, ...] = ()


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
            columns = {row[1] for row in db.execute("PRAGMA table_info(write_keys)")}
            if "origins" not in columns:  # key stores made before origin allowlists
                db.execute("ALTER TABLE write_keys ADD COLUMN origins TEXT NOT NULL DEFAULT ''")
        self._cache: dict[str, Source] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def create(self, name: str, origins: tuple[str, ...] = ()) -> str:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a key's name must be 1 to 100 characters")
        allowed = _checked(origins)
        key = secrets.token_urlsafe(24)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "INSERT INTO write_keys (key, name, created_at, revoked_at, origins) "
                "VALUES (?, ?, ?, NULL, ?)",
                (key, name, now, " ".join(allowed)),
            )
        self._loaded_at = 0.0
        return key

    def set_origins(self, name_or_key: str, origins: tuple[str, ...]) -> int:
        """Replace the origin allowlist of the active keys of a name (or one key); () clears."""
        allowed = _checked(origins)
        with self._db() as db:
            count = db.execute(
                "UPDATE write_keys SET origins = ? WHERE (key = ? OR name = ?) "
                "AND revoked_at IS NULL",
                (" ".join(allowed), name_or_key, name_or_key),
            ).rowcount
        self._loaded_at = 0.0
        return count

    def list(self) -> list[WriteKey]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, key, created_at, revoked_at, origins FROM write_keys "
                "ORDER BY created_at"
            ).fetchall()
        return [WriteKey(n, k, c, r, tuple(o.split())) for n, k, c, r, o in rows]

    def revoke(self, name_or_key: str) -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            count = db.execute(
                "UPDATE write_keys SET revoked_at = ? WHERE (key = ? OR name = ?) AND revoked_at IS NULL",
                (now, name_or_key, name_or_key),
            ).rowcount
        self._loaded_at = 0.0
        return count

    def _active(self) -> dict[str, Source]:
        with self._lock:
            if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
                with self._db() as db:
                    rows = db.execute(
                        "SELECT key, name, origins FROM write_keys WHERE revoked_at IS NULL"
                    ).fetchall()
                self._cache = {k: Source(n, tuple(o.split())) for k, n, o in rows}
                self._loaded_at = time.monotonic()
            return self._cache

    def lookup(self, key: str) -> Source | None:
        """What an active key admits, or None for an unknown or revoked key."""
        if key in self.seed:
            return Source(self.seed[key])
        return self._active().get(key)

    def source_of(self, key: str) -> str | None:
        """The source name of an active key, or None."""
        found = self.lookup(key)
        return found.name if found else None

    def any_allows(self, origin: str) -> bool:
        """True if some active key's allowlist has ``origin`` (for CORS preflights, which carry
        no key)."""
        return any(origin_allowed(origin, s.origins) for s in self._active().values() if s.origins)


def _checked(origins: tuple[str, ...]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"at most {MAX_ORIGINS} origins per key, got {len(origins)}")
    return tuple(dict.fromkeys(parse_origin(o) for o in origins))

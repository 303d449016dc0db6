"""Write keys: which source an event came from, and whether it may come in at all.

Keys (managed with ``journey keys``) live where every process of a deployment sees them: in
ClickHouse when a server is configured (table ``write_keys``, replicated to every node of a
cluster), else in ``JOURNEY_DATA_DIR/keys.sqlite3`` (storage.records). They may be seeded by
``JOURNEY_WRITE_KEYS``. Write keys are not secrets (they sit in web pages) but identify a source
and can be revoked; a key created or revoked on any host reaches every running collector within
``REFRESH_SECONDS``.

A key has a kind, as Segment's sources do: ``browser`` (the default: the snippet and
analytics.js, a key any visitor can read) or ``server`` (a backend posting with curl, requests
or a server SDK). Events sent with a server key are never counted as bots because of the HTTP
client they came through (collector.agent).

Since a web page's key can be copied, a key may carry an origin allowlist: a browser request
whose ``Origin`` is not on it is refused, so another site cannot send events as this one (a
server, which sends no Origin, is not affected). ``https://*.shop.example`` allows subdomains.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from storage.records import (
    CachedRecords,
    ClickHouseRecords,
    Records,
    SqliteRecords,
    move_local,
)

if TYPE_CHECKING:
    from core.settings import Settings
    from storage.store import Store

REFRESH_SECONDS = 5.0
MAX_ORIGINS = 50
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\Z")


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


BROWSER = "browser"
SERVER = "server"
KINDS = (BROWSER, SERVER)


@dataclass(frozen=True)
class WriteKey:
    name: str
    key: str
    created_at: str
    revoked_at: str | None
    origins: tuple[str, ...] = ()
    kind: str = BROWSER


@dataclass(frozen=True)
class Source:
    """What an active key admits: its source's name, the origins allowed (empty: any) and the
    key's kind (browser or server)."""

    name: str
    origins: tuple[str, ...] = ()
    kind: str = BROWSER


COLUMNS = ("key", "name", "created_at", "revoked_at", "origins", "kind")
SEEDED = "JOURNEY_WRITE_KEYS"  # the creation time shown for a key that variable sets


class KeyStore:
    def __init__(self, records: Records, seed: Mapping[str, str] | None = None) -> None:
        self.records = records
        self.seed = dict(seed or {})
        self._rows: object = None
        self._active_keys: dict[str, Source] = {}
        self._revoked_keys: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def local(cls, path: Path, seed: Mapping[str, str] | None = None) -> KeyStore:
        """Keys in a SQLite file: the embedded default, and tests."""
        return cls(CachedRecords(SqliteRecords(path, "write_keys", COLUMNS), REFRESH_SECONDS), seed)

    def create(self, name: str, origins: tuple[str, ...] = (), kind: str = BROWSER) -> str:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a key's name must be 1 to 100 characters")
        if kind not in KINDS:
            raise ValueError(f"a key's kind is {' or '.join(KINDS)}, not {kind!r}")
        allowed = _checked(origins)
        key = secrets.token_urlsafe(24)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.records.put(
            [
                {
                    "key": key,
                    "name": name,
                    "created_at": now,
                    "revoked_at": "",
                    "origins": " ".join(allowed),
                    "kind": kind,
                }
            ]
        )
        return key

    def _matching_active(self, name_or_key: str) -> list[dict[str, str]]:
        return [
            row
            for row in self.records.all()
            if name_or_key in (row["key"], row["name"]) and not row["revoked_at"]
        ]

    def set_origins(self, name_or_key: str, origins: tuple[str, ...]) -> int:
        """Replace the origin allowlist of the active keys of a name (or one key); () clears."""
        allowed = " ".join(_checked(origins))
        changed = [{**row, "origins": allowed} for row in self._matching_active(name_or_key)]
        if changed:
            self.records.put(changed)
        return len(changed)

    def list(self) -> list[WriteKey]:
        """Every key: stored ones, and those of JOURNEY_WRITE_KEYS (created "by
        JOURNEY_WRITE_KEYS"; revoked like the others, which stores the revocation)."""
        stored = self.records.all()
        known = {r["key"] for r in stored}
        seeded = [
            {"key": k, "name": n, "created_at": SEEDED, "revoked_at": "", "origins": ""}
            for k, n in self.seed.items()
            if k not in known
        ]
        rows = sorted([*stored, *seeded], key=lambda r: (r["created_at"], r["key"]))
        return [
            WriteKey(
                r["name"],
                r["key"],
                r["created_at"],
                r["revoked_at"] or None,
                tuple(r["origins"].split()),
                r.get("kind") or BROWSER,
            )
            for r in rows
        ]

    def revoke(self, name_or_key: str) -> int:
        """Revoke the active keys of a name (or one key), JOURNEY_WRITE_KEYS' included: their
        revocation is stored, so it holds while the variable still names them."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        changed = [{**row, "revoked_at": now} for row in self._matching_active(name_or_key)]
        known = {r["key"] for r in self.records.all()}
        changed += [
            {"key": k, "name": n, "created_at": SEEDED, "revoked_at": now, "origins": ""}
            for k, n in self.seed.items()
            if name_or_key in (k, n) and k not in known
        ]
        if changed:
            self.records.put(changed)
        return len(changed)

    def _active(self) -> dict[str, Source]:
        rows = self.records.all()
        with self._lock:
            if rows is not self._rows:  # the cache below was refreshed: rebuild the index
                self._active_keys = {
                    r["key"]: Source(
                        r["name"], tuple(r["origins"].split()), r.get("kind") or BROWSER
                    )
                    for r in rows
                    if not r["revoked_at"]
                }
                self._revoked_keys = {r["key"] for r in rows if r["revoked_at"]}
                self._rows = rows
            return self._active_keys

    def lookup(self, key: str) -> Source | None:
        """What an active key admits, or None for an unknown or revoked key."""
        active = self._active()
        if key in self.seed and key not in self._revoked_keys:
            return Source(self.seed[key])
        return active.get(key)

    def source_of(self, key: str) -> str | None:
        """The source name of an active key, or None."""
        found = self.lookup(key)
        return found.name if found else None

    def any_allows(self, origin: str) -> bool:
        """True if some active key's allowlist has ``origin`` (for CORS preflights, which carry
        no key)."""
        return any(origin_allowed(origin, s.origins) for s in self._active().values() if s.origins)


def open_keys(settings: Settings, store: Store | None = None) -> KeyStore:
    """The deployment's keys: in ClickHouse when a server is configured (``store``, or a
    connection of their own), with a local copy for restarts while it is down; else the local
    SQLite file. Keys made on this host before keys were shared are moved into ClickHouse."""
    local = settings.data_dir / "keys.sqlite3"
    if settings.embedded:
        return KeyStore.local(local, settings.write_keys)
    from storage import connect

    shared = ClickHouseRecords(store or connect(settings), "write_keys", COLUMNS)
    move_local(local, "write_keys", shared)
    cached = CachedRecords(shared, REFRESH_SECONDS, settings.data_dir / "keys.cache.json")
    return KeyStore(cached, settings.write_keys)


def _checked(origins: tuple[str, ...]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"at most {MAX_ORIGINS} origins per key, got {len(origins)}")
    return tuple(dict.fromkeys(parse_origin(o) for o in origins))

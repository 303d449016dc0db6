"""Bearer tokens for analysts: created and revoked with `journey tokens`, kept hashed.

Only a token's SHA-256 is stored: in ClickHouse when a server is configured (table
``api_tokens``, replicated to every node of a cluster), so every API process of a deployment
knows it, else in ``JOURNEY_DATA_DIR/tokens.sqlite3`` (storage.records). The token itself is
shown once, when it is created. Tokens are 256 random bits, so a plain hash is enough: there is
nothing to guess that a slow hash would protect. A revocation counts on the next request with a
local file, and within ``REFRESH_SECONDS`` in every process of a deployment sharing ClickHouse.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

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

PREFIX = "jt_"


@dataclass(frozen=True)
class Token:
    name: str
    fingerprint: str  # the first characters of the hash, to tell tokens apart in lists
    created_at: str
    revoked_at: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


REFRESH_SECONDS = 5.0
COLUMNS = ("digest", "name", "created_at", "revoked_at")


class TokenStore:
    def __init__(self, records: Records) -> None:
        self.records = records

    @classmethod
    def local(cls, path: Path) -> TokenStore:
        """Tokens in a SQLite file: the embedded default, and tests. Read on every request (a
        local file is cheap to read), so a revocation counts on the next one."""
        return cls(CachedRecords(SqliteRecords(path, "api_tokens", COLUMNS), refresh_seconds=0))

    def create(self, name: str) -> str:
        """A new token for ``name`` (who or what uses it); returned once, stored hashed."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a token's name must be 1 to 100 characters")
        token = PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.records.put(
            [{"digest": _digest(token), "name": name, "created_at": now, "revoked_at": ""}]
        )
        return token

    def list(self) -> list[Token]:
        rows = sorted(self.records.all(), key=lambda r: (r["created_at"], r["digest"]))
        return [
            Token(r["name"], r["digest"][:12], r["created_at"], r["revoked_at"] or None)
            for r in rows
        ]

    def revoke(self, name_or_fingerprint: str) -> int:
        """Revoke the active tokens of a name, or the one whose hash starts with the given
        fingerprint (at least 8 characters); how many were revoked."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        prefix = name_or_fingerprint if len(name_or_fingerprint) >= 8 else "\x00"
        changed = [
            {**row, "revoked_at": now}
            for row in self.records.all()
            if not row["revoked_at"]
            and (row["name"] == name_or_fingerprint or row["digest"].startswith(prefix))
        ]
        if changed:
            self.records.put(changed)
        return len(changed)

    def verify(self, token: str) -> str | None:
        """The name of an active token, else None."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = _digest(token)
        for row in self.records.all():
            if hmac.compare_digest(row["digest"], digest) and not row["revoked_at"]:
                return row["name"]
        return None


def open_tokens(settings: Settings, store: Store | None = None) -> TokenStore:
    """The deployment's tokens: in ClickHouse when a server is configured, else the local
    SQLite file (a local file's tokens are moved into ClickHouse once)."""
    local = settings.data_dir / "tokens.sqlite3"
    if settings.embedded:
        return TokenStore.local(local)
    from storage import connect

    shared = ClickHouseRecords(store or connect(settings), "api_tokens", COLUMNS)
    move_local(local, "api_tokens", shared)
    return TokenStore(
        CachedRecords(shared, REFRESH_SECONDS, settings.data_dir / "tokens.cache.json")
    )

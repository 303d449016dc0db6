"""Bearer tokens for analysts: created and revoked with `journey tokens`, kept hashed.

Only a token's SHA-256 is stored (``JOURNEY_DATA_DIR/tokens.sqlite3``); the token itself is
shown once, when it is created. Tokens are 256 random bits, so a plain hash is enough: there is
nothing to guess that a slow hash would protect. Revocation takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PREFIX = "jt_"


@dataclass(frozen=True)
class Token:
    name: str
    fingerprint: str  # the first characters of the hash, to tell tokens apart in lists
    created_at: str
    revoked_at: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS api_tokens (digest TEXT PRIMARY KEY, "
                "name TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"
            )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def create(self, name: str) -> str:
        """A new token for ``name`` (who or what uses it); returned once, stored hashed."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a token's name must be 1 to 100 characters")
        token = PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute("INSERT INTO api_tokens VALUES (?, ?, ?, NULL)", (_digest(token), name, now))
        return token

    def list(self) -> list[Token]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, digest, created_at, revoked_at FROM api_tokens ORDER BY created_at"
            ).fetchall()
        return [
            Token(name, digest[:12], created, revoked) for name, digest, created, revoked in rows
        ]

    def revoke(self, name_or_fingerprint: str) -> int:
        """Revoke the active tokens of a name, or the one whose hash starts with the given
        fingerprint (at least 8 characters); how many were revoked."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        prefix = name_or_fingerprint if len(name_or_fingerprint) >= 8 else "\x00"
        with self._db() as db:
            return db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL "
                "AND (name = ? OR substr(digest, 1, ?) = ?)",
                (now, name_or_fingerprint, len(prefix), prefix),
            ).rowcount

    def verify(self, token: str) -> str | None:
        """The name of an active token, else None."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = _digest(token)
        with self._db() as db:
            row = db.execute(
                "SELECT digest, name FROM api_tokens WHERE digest = ? AND revoked_at IS NULL",
                (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        return str(row[1])

"""Write keys set by JOURNEY_WRITE_KEYS are listed and can be revoked like created ones (they
once could be neither, so a leaked one stayed valid until a redeploy); a key's kind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from collector.keys import BROWSER, SEEDED, SERVER, KeyStore, Source


def test_seeded_keys_are_listed_and_revocable(tmp_path: Path) -> None:
    keys = KeyStore.local(tmp_path / "keys.sqlite", {"env-key-1": "web", "env-key-2": "app"})
    made = keys.create("server")
    listed = {k.key: k for k in keys.list()}
    assert set(listed) == {"env-key-1", "env-key-2", made}
    assert listed["env-key-1"].name == "web" and listed["env-key-1"].created_at == SEEDED
    assert keys.source_of("env-key-1") == "web"
    assert keys.revoke("web") == 1
    assert keys.revoke("web") == 0  # already revoked
    assert keys.source_of("env-key-1") is None and keys.source_of("env-key-2") == "app"
    assert {k.key: k.revoked_at is not None for k in keys.list()} == {
        "env-key-1": True,
        "env-key-2": False,
        made: False,
    }
    # the revocation is stored: a collector started again with the same variable refuses it
    again = KeyStore.local(tmp_path / "keys.sqlite", {"env-key-1": "web"})
    assert again.source_of("env-key-1") is None


def test_a_key_has_a_kind_browser_unless_made_for_a_server(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    sqlite3.connect(path).executescript(  # a file from before keys had a kind
        "CREATE TABLE write_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', "
        "created_at TEXT NOT NULL DEFAULT '', revoked_at TEXT NOT NULL DEFAULT '', "
        "origins TEXT NOT NULL DEFAULT '');"
        "INSERT INTO write_keys VALUES ('old-key', 'site', '2025-01-01', '', '');"
    )
    keys = KeyStore.local(path, {"env-key": "web"})
    backend = keys.create("backend", kind=SERVER)
    found = {k.key: k.kind for k in keys.list()}
    assert found == {"old-key": BROWSER, "env-key": BROWSER, backend: SERVER}
    assert keys.lookup(backend) == Source("backend", (), SERVER)
    with pytest.raises(ValueError, match="browser or server"):
        keys.create("x", kind="mobile")

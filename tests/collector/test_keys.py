"""Write keys set by JOURNEY_WRITE_KEYS are listed and can be revoked like created ones
(issue 28: they could be neither, so a leaked one stayed valid until a redeploy)."""

from __future__ import annotations

from pathlib import Path

from collector.keys import SEEDED, KeyStore


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

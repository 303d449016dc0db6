"""`journey tokens`: created once, listed by fingerprint, revoked; never printed again."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from journey.cli import main
from reports.tokens import TokenStore


def test_tokens_are_created_listed_and_revoked(tmp_path: Path) -> None:
    env = {"JOURNEY_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    created = runner.invoke(main, ["tokens", "create", "ana"], env=env)
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    store = TokenStore.local(tmp_path / "tokens.sqlite3")
    assert store.verify(token) == "ana"
    listed = runner.invoke(main, ["tokens", "list"], env=env)
    assert "ana" in listed.output and token not in listed.output
    fingerprint = store.list()[0].fingerprint
    assert fingerprint in listed.output
    revoked = runner.invoke(main, ["tokens", "revoke", fingerprint], env=env)
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    assert store.verify(token) is None
    again = runner.invoke(main, ["tokens", "revoke", "ana"], env=env)
    assert again.exit_code == 1 and "no active token" in again.output
    bad = runner.invoke(main, ["tokens", "create", " "], env=env)
    assert bad.exit_code == 1 and "1 to 100 characters" in bad.output

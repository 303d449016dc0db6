"""Find, order and apply the numbered migrations against a Store."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.sql import identifier
from storage.store import Store

_FILE = re.compile(r"^(\d{4})_(\w+)\.py$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    description: str
    forwards: Callable[[Migrator], None]


class Migrator:
    """What a migration may do: statements on its database, and checked column additions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = identifier(store.database)

    def execute(self, sql: str) -> None:
        """Run one DDL statement; ``{db}`` in it is the database name."""
        self.store.execute(sql.replace("{db}", self.db))

    def has_column(self, table: str, column: str) -> bool:
        rows = self.store.execute(
            "SELECT count() FROM system.columns WHERE database = %(db)s AND table = %(t)s "
            "AND name = %(c)s",
            {"db": self.db, "t": table, "c": column},
        )
        return bool(rows[0][0])

    def add_column(self, table: str, column: str, ddl_type: str, after: str | None = None) -> None:
        """ALTER TABLE ADD COLUMN unless it is there (old servers have no ADD COLUMN IF NOT EXISTS)."""
        if self.has_column(table, column):
            return
        where = f" AFTER {identifier(after)}" if after else ""
        self.execute(
            f"ALTER TABLE {{db}}.{identifier(table)} ADD COLUMN {identifier(column)} {ddl_type}{where}"
        )


def discover(folder: Path | None = None) -> list[Migration]:
    """Every migration in this package, by version; gaps and duplicates are errors."""
    folder = folder or Path(__file__).parent
    found: list[Migration] = []
    for path in sorted(folder.glob("*.py")):
        match = _FILE.match(path.name)
        if not match:
            continue
        module = importlib.import_module(f"{__package__}.{path.stem}")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                description=(module.__doc__ or "").strip().splitlines()[0],
                forwards=module.forwards,
            )
        )
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(
                f"migration {migration.version:04d} found where {expected:04d} was due"
            )
    return found


def _ensure_bookkeeping(m: Migrator) -> None:
    m.execute(
        "CREATE TABLE IF NOT EXISTS {db}.journey_migrations "
        "(version UInt32, name String, applied_at DateTime('UTC')) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )


def applied(store: Store) -> set[int]:
    m = Migrator(store)
    _ensure_bookkeeping(m)
    rows = store.execute(f"SELECT DISTINCT version FROM {m.db}.journey_migrations")
    return {int(r[0]) for r in rows}


def pending(store: Store) -> list[Migration]:
    done = applied(store)
    return [mig for mig in discover() if mig.version not in done]


def apply(store: Store) -> list[Migration]:
    """Bring the store's database up to date; the migrations that ran, in order."""
    store.execute(f"CREATE DATABASE IF NOT EXISTS {identifier(store.database)}")
    m = Migrator(store)
    ran = []
    for migration in pending(store):
        migration.forwards(m)
        store.insert(
            "journey_migrations",
            ["version", "name", "applied_at"],
            [(migration.version, migration.name, datetime.now(UTC))],
        )
        ran.append(migration)
    return ran

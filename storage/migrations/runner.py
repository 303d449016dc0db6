"""Find, order and apply the numbered migrations against a Store."""

from __future__ import annotations

import importlib
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage import cluster
from storage.sql import identifier
from storage.store import Store

_FILE = re.compile(r"^(\d{4})_(\w+)\.py\Z")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    description: str
    forwards: Callable[[Migrator], None]


class Migrator:
    """What a migration may do: create tables and views laid out for one node or a cluster
    (storage.cluster), add columns, and run statements on its database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = identifier(store.database)
        self.on_cluster = cluster.on_cluster(store)

    def execute(self, sql: str) -> None:
        """Run one statement; ``{db}`` in it is the database name."""
        self.store.execute(sql.replace("{db}", self.db))

    def create_table(
        self,
        name: str,
        columns: Sequence[str],
        engine: str,
        order_by: str,
        partition_by: str = "",
        shard_by: str = "",
    ) -> None:
        """A MergeTree-family table. On a cluster: sharded by the expression ``shard_by``
        (a Distributed table over replicated local tables), or, without it, replicated to
        every node."""
        name = identifier(name)
        body = "(\n    " + ",\n    ".join(columns) + "\n)"
        tail = (f" PARTITION BY {partition_by}" if partition_by else "") + f" ORDER BY {order_by}"
        if not self.store.cluster:
            self.execute(f"CREATE TABLE IF NOT EXISTS {{db}}.{name} {body} ENGINE = {engine}{tail}")
            return
        if not shard_by:
            path = f"{cluster.ZOOKEEPER_ROOT}/all/{self.db}.{name}"
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {{db}}.{name}{self.on_cluster} {body} "
                f"ENGINE = {cluster.replicated_engine(engine, path)}{tail}"
            )
            return
        local = identifier(name + cluster.LOCAL_SUFFIX)
        path = f"{cluster.ZOOKEEPER_ROOT}/{{shard}}/{self.db}.{local}"
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {{db}}.{local}{self.on_cluster} {body} "
            f"ENGINE = {cluster.replicated_engine(engine, path)}{tail}"
        )
        self._create_distributed(
            name, f"Distributed({self.store.cluster}, {self.db}, {local}, {shard_by})"
        )

    def _create_distributed(self, name: str, engine: str) -> None:
        local = identifier(name + cluster.LOCAL_SUFFIX)
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {{db}}.{name}{self.on_cluster} AS {{db}}.{local} "
            f"ENGINE = {engine}"
        )

    def create_materialized_view(self, name: str, target: str, source: str, select: str) -> None:
        """A view folding each block inserted into ``source`` into ``target``; ``select`` reads
        ``FROM {source}``. On a cluster it runs on every node, from and to the local tables."""
        select = select.replace("{source}", cluster.rows_of(self.store, source))
        self.execute(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{identifier(name)}{self.on_cluster} "
            f"TO {cluster.rows_of(self.store, target)} AS {select}"
        )

    def has_table(self, table: str) -> bool:
        rows = self.store.execute(
            "SELECT count() FROM system.tables WHERE database = %(db)s AND name = %(t)s",
            {"db": self.db, "t": table},
        )
        return bool(rows[0][0])

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
        add = f"ADD COLUMN {identifier(column)} {ddl_type}{where}"
        if not cluster.is_sharded(self.store, table):
            # on a cluster: a table replicated to every node; ZooKeeper carries the ALTER
            self.execute(f"ALTER TABLE {{db}}.{identifier(table)} {add}")
            return
        self.execute(f"ALTER TABLE {cluster.rows_of(self.store, table)}{self.on_cluster} {add}")
        # A Distributed table holds no rows: recreated over the altered local tables (ClickHouse
        # 18 refuses ALTER ON CLUSTER of a Distributed table in a cluster of replicated shards).
        engine = cluster.distributed_engine(self.store, table)
        self.execute(f"DROP TABLE IF EXISTS {{db}}.{identifier(table)}{self.on_cluster}")
        self._create_distributed(table, engine)


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
    # Looked up first: on a cluster, DDL waits for every node, and a loader or a report
    # starting while a replica is down must not wait for it when nothing is to be done.
    if m.has_table("journey_migrations"):
        return
    m.create_table(
        "journey_migrations",
        ["version UInt32", "name String", "applied_at DateTime('UTC')"],
        engine="ReplacingMergeTree",
        order_by="version",
    )


def applied(store: Store) -> set[int]:
    m = Migrator(store)
    _ensure_bookkeeping(m)
    rows = store.execute(f"SELECT DISTINCT version FROM {m.db}.journey_migrations")
    return {int(r[0]) for r in rows}


def pending(store: Store, known: Sequence[Migration] | None = None) -> list[Migration]:
    done = applied(store)
    return [mig for mig in (discover() if known is None else known) if mig.version not in done]


LEASE_SECONDS = 60  # a holder that died is replaced after this; a live one renews per migration
SETTLE_SECONDS = 1.0  # how long claims made at the same moment have to become visible


def apply(
    store: Store,
    known: Sequence[Migration] | None = None,
    wait: Callable[[float], None] = time.sleep,
) -> list[Migration]:
    """Bring the store's database up to date; the migrations this process ran, in order.

    Several processes may start at once (loaders scaled out, a migrate job): each claims a lease
    in ``journey_migration_lock``, waits for the claims made at the same moment to be visible,
    and only the earliest claim (by server time, then owner) migrates; the others wait until
    nothing is pending, or until that holder released or lost its lease, and try again."""
    m = Migrator(store)
    if not store.execute("SELECT count() FROM system.databases WHERE name = %(db)s", {"db": m.db})[
        0
    ][0]:
        m.execute(f"CREATE DATABASE IF NOT EXISTS {{db}}{m.on_cluster}")
    known = discover() if known is None else known
    if not pending(store, known):
        return []
    lock = _Lease(m)
    try:
        while True:
            holder = lock.claim(wait)
            if holder == lock.owner:
                return _run(store, m, known, lock)
            while lock.held_by(holder):
                if not pending(store, known):
                    return []
                wait(0.5)
            if not pending(store, known):
                return []
    finally:
        lock.release()  # a waiter's claim too: a later round must not wait for it


def _run(store: Store, m: Migrator, known: Sequence[Migration], lock: _Lease) -> list[Migration]:
    ran = []
    for migration in pending(store, known):
        lock.renew()
        migration.forwards(m)
        store.insert(
            "journey_migrations",
            ["version", "name", "applied_at"],
            [(migration.version, migration.name, datetime.now(UTC))],
        )
        ran.append(migration)
    return ran


class _Lease:
    """A lease on migrating, kept in a small table (replicated to every node on a cluster).
    ClickHouse has no locks; this is enough because claims are compared by server time and
    every migration step is idempotent anyway."""

    def __init__(self, m: Migrator) -> None:
        self.m = m
        self.owner = uuid.uuid4().hex
        self.seq = 0  # this owner's writes in order: the latest says whether it holds the lease
        if not m.has_table("journey_migration_lock"):
            m.create_table(
                "journey_migration_lock",
                [
                    "owner String",
                    "seq UInt32",
                    "claimed_at DateTime('UTC')",
                    "expires_at DateTime('UTC')",
                ],
                engine="MergeTree",
                order_by="(claimed_at, owner)",
            )

    def _write(self, claimed: str, seconds: int) -> None:
        self.seq += 1
        self.m.store.execute(
            f"INSERT INTO {self.m.db}.journey_migration_lock "
            "SELECT %(owner)s, %(seq)s, " + claimed + ", now() + %(s)s",
            {"owner": self.owner, "seq": self.seq, "s": seconds},
        )

    def claim(self, wait: Callable[[float], None]) -> str:
        """Claim, let concurrent claims land, and return the owner of the earliest live one."""
        self._write("now()", LEASE_SECONDS)
        wait(SETTLE_SECONDS)
        rows = self.m.store.execute(
            f"SELECT owner FROM {self.m.db}.journey_migration_lock GROUP BY owner "
            "HAVING argMax(expires_at, seq) > now() ORDER BY min(claimed_at), owner LIMIT 1"
        )
        return str(rows[0][0]) if rows else self.owner

    def renew(self) -> None:
        self._write("(SELECT min(claimed_at) FROM " + self._mine() + ")", LEASE_SECONDS)

    def release(self) -> None:
        self._write("(SELECT min(claimed_at) FROM " + self._mine() + ")", -LEASE_SECONDS)

    def _mine(self) -> str:
        return f"{self.m.db}.journey_migration_lock WHERE owner = %(owner)s"

    def held_by(self, owner: str) -> bool:
        """True while ``owner``'s lease is live: its latest write has not expired."""
        rows = self.m.store.execute(
            f"SELECT argMax(expires_at, seq) > now() "
            f"FROM {self.m.db}.journey_migration_lock WHERE owner = %(o)s",
            {"o": owner},
        )
        return bool(rows and rows[0][0])

"""Where events rest: ClickHouse, as a server (clickhouse-driver) or embedded (chDB)."""

from __future__ import annotations

from core.extras import embedded_module
from core.settings import Settings
from storage.store import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable", "connect"]


def connect(settings: Settings, database: str | None = None) -> Store:
    """The configured store: the server of JOURNEY_CLICKHOUSE_URL, else embedded chDB."""
    db = database or settings.database
    if settings.clickhouse is not None:
        from storage.server import ServerStore

        return ServerStore(settings.clickhouse, database=db, cluster=settings.clickhouse_cluster)
    embedded_module(
        "chdb", "the embedded store", "set JOURNEY_CLICKHOUSE_URL to a ClickHouse server"
    )
    from storage.embedded import EmbeddedStore

    return EmbeddedStore.open(settings.chdb_path, database=db)

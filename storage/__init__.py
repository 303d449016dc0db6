"""Where events rest: ClickHouse, as a server (clickhouse-driver) or embedded (chDB)."""

from storage.store import Store, StoreUnavailable, connect

__all__ = ["Store", "StoreUnavailable", "connect"]

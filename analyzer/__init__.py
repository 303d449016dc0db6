"""Journey analytics over the events table, as ClickHouse SQL (server and chDB alike)."""

"""Kafka consumer group → ClickHouse: decode, batch, write, dead-letter, commit (in that order)."""

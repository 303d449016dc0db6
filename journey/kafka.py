"""Kafka client settings and topic creation, shared by the collector, the loader and the tools."""

from __future__ import annotations

import contextlib
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from journey.settings import Settings, SettingsError


def bootstrap(settings: Settings) -> list[str]:
    if not settings.kafka_bootstrap_servers:
        raise SettingsError(
            "JOURNEY_KAFKA_BOOTSTRAP_SERVERS is unset: set it to your brokers, "
            "or run `journey up`, which starts the bundled broker"
        )
    return list(settings.kafka_bootstrap_servers)


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 0,  # requests wait for acks; concurrent sends batch themselves
        "max_block_ms": 2000,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 100,
        "reconnect_backoff_max_ms": 1000,  # notice a broker that is back within a second
        "bootstrap_timeout_ms": 3000,
        "client_id": "journey-collector",
    }


def consumer_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "group_id": settings.consumer_group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 5000,
        "client_id": "journey-loader",
    }
    if settings.kafka_fast_group_join:
        # A first group join waits for max_poll_interval_ms; short values make it ~3 s.
        config.update(
            session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_interval_ms=10000
        )
    return config


def ensure_topics(settings: Settings) -> None:
    """Create the events and dead-letter topics if they are missing."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap(settings),
        client_id="journey-admin",
        request_timeout_ms=5000,
        bootstrap_timeout_ms=3000,
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, settings.topic_partitions, 1)
            for name in (settings.events_topic, settings.dead_letter_topic)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                admin.create_topics(wanted)
    finally:
        admin.close()

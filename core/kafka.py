"""Kafka client settings and topic creation, shared by the collector, the loader and the tools."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import AuthorizationError, SaslAuthenticationFailedError, TopicAlreadyExistsError

from core.settings import Settings, SettingsError

log = logging.getLogger(__name__)


class KafkaAuthError(SettingsError):
    """The brokers refused Journey's credentials: a configuration error, never an outage."""


def bootstrap(settings: Settings) -> list[str]:
    if not settings.kafka_bootstrap_servers:
        raise SettingsError(
            "JOURNEY_KAFKA_BOOTSTRAP_SERVERS is unset: set it to your brokers, "
            "or run `journey up`, which starts the bundled broker"
        )
    return list(settings.kafka_bootstrap_servers)


def connection_config(settings: Settings) -> dict[str, Any]:
    """What every client (producer, consumer, admin) needs to reach and log in to the brokers."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL_"):
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    if "SSL" in settings.kafka_security_protocol:
        config["ssl_check_hostname"] = True
        if settings.kafka_ssl_cafile is not None:
            config["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return config


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        **connection_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "compression_type": None
        if settings.kafka_compression == "none"
        else settings.kafka_compression,
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
        **connection_config(settings),
        "group_id": settings.consumer_group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 5000,
        "reconnect_backoff_max_ms": 1000,  # resume within a second of the brokers' return
        # a topic the group leader had no metadata for when it assigned (created a moment ago,
        # not yet known to the broker it asked) is seen, and the group rebalances, within 10 s
        # rather than the default 5 minutes
        "metadata_max_age_ms": 10_000,
        "client_id": "journey-loader",
    }
    if settings.kafka_fast_group_join:
        # A first group join waits for max_poll_interval_ms; short values make it ~3 s.
        config.update(
            session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_interval_ms=10000
        )
    return config


_REFUSALS = (SaslAuthenticationFailedError, AuthorizationError)


class _AuthFailures(logging.Handler):
    """kafka-python retries a refused login until its bootstrap times out and then reports only
    the time-out; the refusal itself reaches its log. This keeps it for a clear message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failure: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, _REFUSALS):
                self.failure = arg


def _refusal_in(exc: BaseException | None) -> BaseException | None:
    """The refused login behind an exception, if any (kafka-python raises a cached refusal itself
    on a later connection attempt, or wraps it)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, _REFUSALS):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


@contextlib.contextmanager
def explaining_auth_failures(settings: Settings) -> Iterator[None]:
    """Turn a time-out caused by refused credentials into a KafkaAuthError naming the settings."""
    watcher = _AuthFailures()
    logger = logging.getLogger("kafka")
    logger.addHandler(watcher)
    try:
        yield
    except Exception as exc:
        failure = watcher.failure or _refusal_in(exc)
        if failure is not None:
            raise KafkaAuthError(
                "Kafka refused the credentials of JOURNEY_KAFKA_SASL_USERNAME="
                f"{settings.kafka_sasl_username!r} (JOURNEY_KAFKA_SASL_MECHANISM="
                f"{settings.kafka_sasl_mechanism}): {failure}"
            ) from exc
        raise
    finally:
        logger.removeHandler(watcher)


def ensure_topics(settings: Settings) -> None:
    """Create the events and dead-letter topics if they are missing (with the configured
    replication factor, or the brokers' default); where Journey may not create topics, check
    that they exist."""
    admin = _admin(settings)
    try:
        missing = _missing_topics(admin, settings)
        # A topic made a moment ago (by an operator, or Strimzi's) may not have reached the
        # broker asked yet; where Journey may not create it, look again before giving up.
        deadline = time.monotonic() + 10
        while missing and not settings.kafka_create_topics and time.monotonic() < deadline:
            time.sleep(0.5)
            missing = _missing_topics(admin, settings)
        if missing and not settings.kafka_create_topics:
            raise SettingsError(
                f"Kafka topic {missing[0]} does not exist and JOURNEY_KAFKA_CREATE_TOPICS=false: "
                "create it, or set JOURNEY_EVENTS_TOPIC/JOURNEY_DEAD_LETTER_TOPIC to topics "
                "that exist"
            )
        replicas = settings.kafka_replication_factor or -1  # -1: default.replication.factor
        wanted = [NewTopic(name, settings.topic_partitions, replicas) for name in missing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                admin.create_topics(wanted)
            _wait_for_leaders(admin, [topic.name for topic in wanted])
    finally:
        admin.close()


def _admin(settings: Settings) -> KafkaAdminClient:
    """An admin client, or KafkaAuthError when the brokers refuse the credentials. With SASL, a
    bootstrap that timed out without a verdict is tried once more: a cold broker on a busy machine
    can take the whole timeout over its first TLS handshake and SCRAM exchange, and a refused
    login taken for an unreachable cluster would leave a collector spooling forever instead of
    stopping with the reason."""
    try:
        return _admin_once(settings)
    except KafkaAuthError:
        raise
    except Exception as exc:
        if not settings.kafka_sasl_mechanism:
            raise
        log.warning("Kafka bootstrap failed (%s); trying once more", exc)
        return _admin_once(settings)


def _admin_once(settings: Settings) -> KafkaAdminClient:
    with explaining_auth_failures(settings):
        return KafkaAdminClient(
            **connection_config(settings),
            client_id="journey-admin",
            request_timeout_ms=5000,
            # long enough for a TLS handshake and a SASL exchange with a busy broker, so that a
            # refused login is seen (and named) rather than taken for an unreachable cluster
            bootstrap_timeout_ms=10_000,
        )


def _missing_topics(admin: KafkaAdminClient, settings: Settings) -> list[str]:
    existing = set(admin.list_topics())
    return [t for t in (settings.events_topic, settings.dead_letter_topic) if t not in existing]


def _wait_for_leaders(admin: KafkaAdminClient, topics: list[str], timeout: float = 15) -> None:
    """A topic just created is usable once every partition has a leader; a client that asks a
    broker before then gets no partitions (a consumer group would assign it nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = admin.describe_topics(topics)
        if len(described) == len(topics) and all(
            topic.get("error_code", 0) == 0
            and topic.get("partitions")
            and all(p.get("leader_id", -1) >= 0 for p in topic["partitions"])
            for topic in described
        ):
            return
        time.sleep(0.1)
    log.warning("topics %s have no leader for every partition after %.0fs", topics, timeout)

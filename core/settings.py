"""The one settings source: every knob is a ``JOURNEY_*`` environment variable.

Variables (defaults in brackets):

JOURNEY_DATA_DIR                 where local state lives: embedded store, spool, keys [./.journey]
JOURNEY_KAFKA_BOOTSTRAP_SERVERS  comma-separated host:port list; unset: `journey up` starts the
                                 bundled Kafka-protocol broker on 127.0.0.1 [unset]
JOURNEY_KAFKA_FAST_GROUP_JOIN    short consumer session/poll timeouts, for tests and the local
                                 stack (a group join takes ~3 s instead of ~23 s) [false]
JOURNEY_EVENTS_TOPIC             topic of accepted events [journey.events]
JOURNEY_DEAD_LETTER_TOPIC        topic of events that can never load, with the reason
                                 [journey.events.dead-letter]
JOURNEY_TOPIC_PARTITIONS         partitions when Journey creates the topics [4]
JOURNEY_KAFKA_REPLICATION_FACTOR replicas of each partition when Journey creates the topics; 0 =
                                 the brokers' default.replication.factor [0]
JOURNEY_KAFKA_CREATE_TOPICS      create missing topics at start-up; false where a platform team
                                 owns them (start-up then stops if one is missing) [true]
JOURNEY_KAFKA_SECURITY_PROTOCOL  PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL [PLAINTEXT]
JOURNEY_KAFKA_SASL_MECHANISM     PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with SASL_*) [unset]
JOURNEY_KAFKA_SASL_USERNAME      SASL user (with SASL_*) [unset]
JOURNEY_KAFKA_SASL_PASSWORD      SASL password (with SASL_*) [unset]
JOURNEY_KAFKA_SSL_CAFILE         PEM file of the CA that signed the brokers' certificates (with
                                 SSL or SASL_SSL); unset: the system's trusted CAs [unset]
JOURNEY_KAFKA_COMPRESSION        producer compression: none, gzip, lz4, zstd or snappy [none]
JOURNEY_CLICKHOUSE_URL           clickhouse://user:password@host:port/database; unset: embedded
                                 chDB under JOURNEY_DATA_DIR/chdb, database "journey" [unset]
JOURNEY_CLICKHOUSE_CLUSTER       name of a cluster in the servers' <remote_servers>: migrations
                                 create replicated tables on every node, events and per-person
                                 tables sharded by visitor behind Distributed tables; unset: one
                                 node [unset]
JOURNEY_COLLECTOR_HOST           address the collector binds [127.0.0.1]
JOURNEY_COLLECTOR_PORT           port of the collector [8080]
JOURNEY_COLLECTOR_WORKERS        gunicorn worker processes for `journey collect` [2]
JOURNEY_COLLECTOR_THREADS        threads per worker [8]
JOURNEY_WRITE_KEYS               seed write keys, "name:key,name2:key2" [unset]
JOURNEY_MAX_EVENT_BYTES          largest accepted event, bytes [32768]
JOURNEY_MAX_BATCH_BYTES          largest accepted request body, after gunzip [512000]
JOURNEY_RATE_LIMIT_EVENTS_PER_KEY    events/s allowed per write key, 0 = no limit [0]
JOURNEY_RATE_LIMIT_REQUESTS_PER_IP   requests/s allowed per client IP, 0 = no limit [0]
JOURNEY_CORS_ORIGINS             origins allowed to post from browsers, "*" for any [*]
JOURNEY_ANONYMIZE_IP             zero the host part of client IPs before storing [true]
JOURNEY_GEOLOCATE                country of the client IP into context.location.country, from
                                 the offline database geoip2fast ships [true]
JOURNEY_TRUSTED_PROXIES          how many X-Forwarded-For hops to trust [0]
JOURNEY_KAFKA_ACK_TIMEOUT_S      how long a request waits for Kafka before spooling [5]
JOURNEY_SPOOL_MAX_BYTES          disk the collector's spool may use before answering 503 [268435456]
JOURNEY_LOADER_BATCH_ROWS        rows per ClickHouse insert [20000]
JOURNEY_LOADER_BATCH_SECONDS     longest a row waits before its batch is written [1.0]
JOURNEY_LOADER_MAX_INVALID_RUN   consecutive dead-lettered messages that stop the loader [1000]
JOURNEY_CONSUMER_GROUP           loader consumer group [journey-loader]
JOURNEY_ALERT_ALLOW_PRIVATE      let alert webhooks target private, loopback and link-local
                                 addresses (an internal receiver) [false]
JOURNEY_ALERT_DELIVERY_ATTEMPTS  tries per notice and channel before it is recorded failed [4]
JOURNEY_ALERT_RETRY_SECONDS      wait before the first retry, doubled each time [2]
JOURNEY_SMTP_HOST                mail server for e-mail alerts; unset: e-mail notices fail [unset]
JOURNEY_SMTP_PORT                its port; 465 speaks TLS from the start [25]
JOURNEY_SMTP_USER                log in as this user (with JOURNEY_SMTP_PASSWORD), only
                                 over TLS (STARTTLS or port 465) [unset]
JOURNEY_SMTP_PASSWORD            the password [unset]
JOURNEY_SMTP_FROM                sender address of alert e-mails [journey@localhost]
JOURNEY_SMTP_STARTTLS            upgrade the connection with STARTTLS [false]
JOURNEY_API_HOST                 address `journey api` binds (the analysts' API and dashboard;
                                 `journey up` serves them on the collector's port) [127.0.0.1]
JOURNEY_API_PORT                 port of `journey api` [8090]
JOURNEY_API_WORKERS              gunicorn workers of `journey api` (1 with the embedded store) [2]
JOURNEY_SCHEDULE_SECONDS         how often `journey up` looks for scheduled work (segments whose
                                 refresh is due), 0 = never [60]
JOURNEY_DATA_RETENTION_DAYS      delete events older than this many days (privacy.expiry; `journey
                                 up` daily, `journey expire` for cron), 0 = keep everything [0]
JOURNEY_PERSONALIZATION_SECONDS  how often a collector looks for newly published public segments
                                 (GET /v1/segments answers from its copy) [10]

Invalid values stop start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from core.identifiers import identifier


class SettingsError(ValueError):
    """A JOURNEY_* variable has a value Journey cannot use; the message names it."""


@dataclass(frozen=True)
class ClickHouseURL:
    host: str
    port: int
    user: str
    password: str
    database: str
    secure: bool = False

    def __repr__(self) -> str:  # never print the password
        return f"ClickHouseURL({self.user}@{self.host}:{self.port}/{self.database})"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".journey")
    kafka_bootstrap_servers: tuple[str, ...] = ()
    kafka_fast_group_join: bool = False
    events_topic: str = "journey.events"
    dead_letter_topic: str = "journey.events.dead-letter"
    topic_partitions: int = 4
    kafka_replication_factor: int = 0  # 0: the brokers' default.replication.factor
    kafka_create_topics: bool = True
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = field(default="", repr=False)
    kafka_ssl_cafile: Path | None = None
    kafka_compression: str = "none"
    clickhouse: ClickHouseURL | None = None
    clickhouse_cluster: str | None = None
    collector_host: str = "127.0.0.1"
    collector_port: int = 8080
    api_host: str = "127.0.0.1"
    api_port: int = 8090
    api_workers: int = 2
    collector_workers: int = 2
    collector_threads: int = 8
    write_keys: Mapping[str, str] = field(default_factory=dict)  # key -> source name
    max_event_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024
    rate_limit_events_per_key: float = 0.0
    rate_limit_requests_per_ip: float = 0.0
    cors_origins: tuple[str, ...] = ("*",)
    anonymize_ip: bool = True
    geolocate: bool = True
    trusted_proxies: int = 0
    kafka_ack_timeout_s: float = 5.0
    spool_max_bytes: int = 256 * 1024 * 1024
    loader_batch_rows: int = 20_000
    loader_batch_seconds: float = 1.0
    loader_max_invalid_run: int = 1000
    consumer_group: str = "journey-loader"
    schedule_seconds: float = 60.0
    personalization_seconds: float = 10.0
    data_retention_days: int = 0  # 0: keep every event
    alert_allow_private: bool = False
    alert_delivery_attempts: int = 4
    alert_retry_seconds: float = 2.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "journey@localhost"
    smtp_starttls: bool = False

    @property
    def embedded(self) -> bool:
        """True when no ClickHouse server is configured and chDB is the store."""
        return self.clickhouse is None

    @property
    def chdb_path(self) -> Path:
        return self.data_dir / "chdb"

    @property
    def database(self) -> str:
        return self.clickhouse.database if self.clickhouse else "journey"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false")


def _number(name: str, raw: str, kind: type, minimum: float) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a {kind.__name__}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def parse_clickhouse_url(raw: str, name: str = "JOURNEY_CLICKHOUSE_URL") -> ClickHouseURL:
    parts = urlsplit(raw)
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise SettingsError(
            f"{name}: expected clickhouse://user:password@host:port/database, got scheme "
            f"{parts.scheme or '(none)'!r}"
        )
    if not parts.hostname:
        raise SettingsError(f"{name}: the URL has no host")
    database = parts.path.strip("/") or "journey"
    if not database.replace("_", "").isalnum():
        raise SettingsError(f"{name}: database name {database!r} must be letters, digits and _")
    try:
        port = parts.port or (9440 if parts.scheme == "clickhouses" else 9000)
    except ValueError:
        raise SettingsError(f"{name}: the port is not a number") from None
    return ClickHouseURL(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=database,
        secure=parts.scheme == "clickhouses",
    )


def _write_keys(raw: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, key = item.partition(":")
        if not sep or not name or not key:
            raise SettingsError(f"JOURNEY_WRITE_KEYS: {item!r} is not name:key")
        keys[key] = name
    return keys


def _topic(name: str, raw: str) -> str:
    if not raw or len(raw) > 200 or not all(c.isalnum() or c in "._-" for c in raw):
        raise SettingsError(f"{name}={raw!r}: a topic name is letters, digits, '.', '_' and '-'")
    return raw


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every JOURNEY_* variable; raise SettingsError naming the bad one."""
    env = os.environ if environ is None else environ
    known = set(_FIELDS)
    unknown = sorted(k for k in env if k.startswith("JOURNEY_") and k not in known)
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for var, (attr, parse) in _FIELDS.items():
        if var in env:
            values[attr] = parse(var, env[var])
    settings = Settings(**values)
    if settings.clickhouse_cluster and settings.clickhouse is None:
        raise SettingsError(
            "JOURNEY_CLICKHOUSE_CLUSTER needs JOURNEY_CLICKHOUSE_URL (a node of that cluster)"
        )
    if settings.events_topic == settings.dead_letter_topic:
        raise SettingsError("JOURNEY_DEAD_LETTER_TOPIC must differ from JOURNEY_EVENTS_TOPIC")
    _check_kafka_security(settings)
    return settings


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSIONS = ("none", "gzip", "lz4", "zstd", "snappy")


def _check_kafka_security(settings: Settings) -> None:
    """SASL needs a mechanism, a user and a password; a CA file must be a readable file."""
    if settings.kafka_security_protocol.startswith("SASL_"):
        if not settings.kafka_sasl_mechanism:
            raise SettingsError(
                f"JOURNEY_KAFKA_SASL_MECHANISM is needed with "
                f"JOURNEY_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} "
                f"({', '.join(SASL_MECHANISMS)})"
            )
        for var, value in (
            ("JOURNEY_KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
            ("JOURNEY_KAFKA_SASL_PASSWORD", settings.kafka_sasl_password),
        ):
            if not value:
                raise SettingsError(
                    f"{var} is needed with JOURNEY_KAFKA_SECURITY_PROTOCOL="
                    f"{settings.kafka_security_protocol}"
                )
    elif settings.kafka_sasl_mechanism:
        raise SettingsError(
            "JOURNEY_KAFKA_SASL_MECHANISM is set but JOURNEY_KAFKA_SECURITY_PROTOCOL="
            f"{settings.kafka_security_protocol} does not use SASL (SASL_SSL or SASL_PLAINTEXT)"
        )
    cafile = settings.kafka_ssl_cafile
    if cafile is not None:
        if "SSL" not in settings.kafka_security_protocol:
            raise SettingsError(
                "JOURNEY_KAFKA_SSL_CAFILE is set but JOURNEY_KAFKA_SECURITY_PROTOCOL="
                f"{settings.kafka_security_protocol} does not use TLS (SSL or SASL_SSL)"
            )
        if not cafile.is_file():
            raise SettingsError(f"JOURNEY_KAFKA_SSL_CAFILE={str(cafile)!r}: no such file")


def _choice(choices: tuple[str, ...], upper: bool = True) -> Any:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
        return value

    return parse


def _compression(name: str, raw: str) -> str:
    """A codec kafka-python can use here: its library must be installed."""
    from kafka import codec  # here: only this setting needs it

    value = _choice(COMPRESSIONS, upper=False)(name, raw)
    available = {
        "none": True,
        "gzip": codec.has_gzip(),
        "lz4": codec.has_lz4(),
        "zstd": codec.has_zstd(),
        "snappy": codec.has_snappy(),
    }
    if not available[value]:
        raise SettingsError(f"{name}={value}: its Python library is not installed")
    return value


def _cluster(name: str, raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return identifier(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a cluster name (letters, digits, _)") from None


def _servers(name: str, raw: str) -> tuple[str, ...]:
    servers = tuple(s.strip() for s in raw.split(",") if s.strip())
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(f"{name}: {server!r} is not host:port")
    return servers


_FIELDS: dict[str, tuple[str, Any]] = {
    "JOURNEY_DATA_DIR": ("data_dir", lambda n, v: Path(v)),
    "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": ("kafka_bootstrap_servers", _servers),
    "JOURNEY_KAFKA_FAST_GROUP_JOIN": ("kafka_fast_group_join", _bool),
    "JOURNEY_EVENTS_TOPIC": ("events_topic", _topic),
    "JOURNEY_DEAD_LETTER_TOPIC": ("dead_letter_topic", _topic),
    "JOURNEY_TOPIC_PARTITIONS": ("topic_partitions", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_KAFKA_REPLICATION_FACTOR": (
        "kafka_replication_factor",
        lambda n, v: _number(n, v, int, 0),
    ),
    "JOURNEY_KAFKA_CREATE_TOPICS": ("kafka_create_topics", _bool),
    "JOURNEY_KAFKA_SECURITY_PROTOCOL": ("kafka_security_protocol", _choice(SECURITY_PROTOCOLS)),
    "JOURNEY_KAFKA_SASL_MECHANISM": (
        "kafka_sasl_mechanism",
        lambda n, v: _choice(SASL_MECHANISMS)(n, v) if v.strip() else "",
    ),
    "JOURNEY_KAFKA_SASL_USERNAME": ("kafka_sasl_username", lambda n, v: v),
    "JOURNEY_KAFKA_SASL_PASSWORD": ("kafka_sasl_password", lambda n, v: v),
    "JOURNEY_KAFKA_SSL_CAFILE": (
        "kafka_ssl_cafile",
        lambda n, v: Path(v) if v.strip() else None,
    ),
    "JOURNEY_KAFKA_COMPRESSION": ("kafka_compression", _compression),
    "JOURNEY_CLICKHOUSE_URL": (
        "clickhouse",
        lambda n, v: parse_clickhouse_url(v, n) if v.strip() else None,
    ),
    "JOURNEY_CLICKHOUSE_CLUSTER": ("clickhouse_cluster", _cluster),
    "JOURNEY_COLLECTOR_HOST": ("collector_host", lambda n, v: v),
    "JOURNEY_COLLECTOR_PORT": ("collector_port", lambda n, v: _number(n, v, int, 0)),
    "JOURNEY_COLLECTOR_WORKERS": ("collector_workers", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_COLLECTOR_THREADS": ("collector_threads", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_WRITE_KEYS": ("write_keys", lambda n, v: _write_keys(v)),
    "JOURNEY_MAX_EVENT_BYTES": ("max_event_bytes", lambda n, v: _number(n, v, int, 256)),
    "JOURNEY_MAX_BATCH_BYTES": ("max_batch_bytes", lambda n, v: _number(n, v, int, 256)),
    "JOURNEY_RATE_LIMIT_EVENTS_PER_KEY": (
        "rate_limit_events_per_key",
        lambda n, v: _number(n, v, float, 0),
    ),
    "JOURNEY_RATE_LIMIT_REQUESTS_PER_IP": (
        "rate_limit_requests_per_ip",
        lambda n, v: _number(n, v, float, 0),
    ),
    "JOURNEY_CORS_ORIGINS": (
        "cors_origins",
        lambda n, v: tuple(o.strip() for o in v.split(",") if o.strip()),
    ),
    "JOURNEY_ANONYMIZE_IP": ("anonymize_ip", _bool),
    "JOURNEY_GEOLOCATE": ("geolocate", _bool),
    "JOURNEY_TRUSTED_PROXIES": ("trusted_proxies", lambda n, v: _number(n, v, int, 0)),
    "JOURNEY_KAFKA_ACK_TIMEOUT_S": ("kafka_ack_timeout_s", lambda n, v: _number(n, v, float, 0.1)),
    "JOURNEY_SPOOL_MAX_BYTES": ("spool_max_bytes", lambda n, v: _number(n, v, int, 0)),
    "JOURNEY_LOADER_BATCH_ROWS": ("loader_batch_rows", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_LOADER_BATCH_SECONDS": (
        "loader_batch_seconds",
        lambda n, v: _number(n, v, float, 0.01),
    ),
    "JOURNEY_LOADER_MAX_INVALID_RUN": (
        "loader_max_invalid_run",
        lambda n, v: _number(n, v, int, 1),
    ),
    "JOURNEY_CONSUMER_GROUP": ("consumer_group", lambda n, v: v or "journey-loader"),
    "JOURNEY_ALERT_ALLOW_PRIVATE": ("alert_allow_private", _bool),
    "JOURNEY_ALERT_DELIVERY_ATTEMPTS": (
        "alert_delivery_attempts",
        lambda n, v: _number(n, v, int, 1),
    ),
    "JOURNEY_ALERT_RETRY_SECONDS": ("alert_retry_seconds", lambda n, v: _number(n, v, float, 0)),
    "JOURNEY_SMTP_HOST": ("smtp_host", lambda n, v: v.strip()),
    "JOURNEY_SMTP_PORT": ("smtp_port", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_SMTP_USER": ("smtp_user", lambda n, v: v),
    "JOURNEY_SMTP_PASSWORD": ("smtp_password", lambda n, v: v),
    "JOURNEY_SMTP_FROM": ("smtp_from", lambda n, v: v.strip() or "journey@localhost"),
    "JOURNEY_SMTP_STARTTLS": ("smtp_starttls", _bool),
    "JOURNEY_API_HOST": ("api_host", lambda n, v: v),
    "JOURNEY_API_PORT": ("api_port", lambda n, v: _number(n, v, int, 0)),
    "JOURNEY_API_WORKERS": ("api_workers", lambda n, v: _number(n, v, int, 1)),
    "JOURNEY_SCHEDULE_SECONDS": ("schedule_seconds", lambda n, v: _number(n, v, float, 0)),
    "JOURNEY_DATA_RETENTION_DAYS": ("data_retention_days", lambda n, v: _number(n, v, int, 0)),
    "JOURNEY_PERSONALIZATION_SECONDS": (
        "personalization_seconds",
        lambda n, v: _number(n, v, float, 0.1),
    ),
}

"""The one settings source: every knob is a ``JOURNEY_*`` environment variable.

Each setting is described once, where it is declared (``Settings``' fields: the variable, its
parser and its meaning); ``from_env`` reads them, and ``python -m core.settings`` prints the
table of them that the documentation's settings page is generated from. Invalid values stop start-up with a
message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
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


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSIONS = ("none", "gzip", "lz4", "zstd", "snappy")


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


def _int(minimum: int) -> Any:
    return lambda n, v: _number(n, v, int, minimum)


def _int_between(minimum: int, maximum: int) -> Any:
    def parse(name: str, raw: str) -> int:
        value = _number(name, raw, int, minimum)
        if value > maximum:
            raise SettingsError(f"{name}={raw!r}: must be at most {maximum}")
        return int(value)

    return parse


def _float(minimum: float) -> Any:
    return lambda n, v: _number(n, v, float, minimum)


def _text(name: str, raw: str) -> str:
    return raw


def _stripped_or(default: str) -> Any:
    return lambda n, v: v.strip() or default


def setting(default: Any, parse: Any, help: str, env: str = "", **more: Any) -> Any:
    """A field of Settings: its default, how its variable's text is read and what it means
    (``env`` when the variable is not ``JOURNEY_`` + the field's name in capitals)."""
    if isinstance(default, dict):
        more["default_factory"] = dict
    else:
        more["default"] = default
    return field(metadata={"parse": parse, "help": help, "env": env}, **more)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(
        Path(".journey"),
        lambda n, v: Path(v),
        "local state: embedded store (`chdb/`), spool, the demo's HTML report; write keys and "
        "analyst tokens (hashed) with the embedded store, or, with a ClickHouse server (where "
        "they are kept for every process), the last copy read, used while ClickHouse is "
        "unreachable",
    )
    kafka_bootstrap_servers: tuple[str, ...] = setting(
        (), _servers, "`host:port,...`; unset: `journey up`/`demo` start the bundled broker"
    )
    kafka_fast_group_join: bool = setting(
        False,
        _bool,
        "short consumer timeouts (group join ~3 s instead of ~23 s); for tests and the local stack",
    )
    events_topic: str = setting("journey.events", _topic, "topic of accepted events")
    dead_letter_topic: str = setting(
        "journey.events.dead-letter", _topic, "events that can never load, with the reason"
    )
    topic_partitions: int = setting(4, _int(1), "partitions when Journey creates the topics")
    kafka_replication_factor: int = setting(
        0,
        _int(0),
        "replicas per partition when Journey creates the topics; `0`: the brokers' "
        "`default.replication.factor` (keep it at least `min.insync.replicas` + 1, or one lost "
        "broker refuses every write)",
    )
    kafka_create_topics: bool = setting(
        True,
        _bool,
        "create missing topics at start-up; `false` where a platform team (or Strimzi's topic "
        "operator) owns them: start-up then stops, naming the topic, if one is missing",
    )
    kafka_security_protocol: str = setting(
        "PLAINTEXT",
        _choice(SECURITY_PROTOCOLS),
        "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (managed Kafka: MSK, Confluent "
        "Cloud, Aiven)",
    )
    kafka_sasl_mechanism: str = setting(
        "",
        lambda n, v: _choice(SASL_MECHANISMS)(n, v) if v.strip() else "",
        "`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (needed with `SASL_*`)",
    )
    kafka_sasl_username: str = setting(
        "",
        _text,
        "the SASL user (needed with `SASL_*`); refused credentials stop `journey collect` and "
        "`journey load` with a message naming the user, never the password",
    )
    kafka_sasl_password: str = setting("", _text, "the SASL password", repr=False)
    kafka_ssl_cafile: Path | None = setting(
        None,
        lambda n, v: Path(v) if v.strip() else None,
        "PEM file of the CA that signed the brokers' certificates (with `SSL`/`SASL_SSL`); "
        "unset: the system's trusted CAs. Host names are always verified",
    )
    kafka_compression: str = setting(
        "none",
        _compression,
        "producer compression: `none`, `gzip`, `lz4`, `zstd` or `snappy` (their libraries are "
        "dependencies)",
    )
    clickhouse: ClickHouseURL | None = setting(
        None,
        lambda n, v: parse_clickhouse_url(v, n) if v.strip() else None,
        "`clickhouse://user:password@host:port/database` (`clickhouses://` for TLS); unset: "
        "embedded chDB",
        env="JOURNEY_CLICKHOUSE_URL",
    )
    clickhouse_cluster: str | None = setting(
        None,
        _cluster,
        "name of a cluster in the servers' `<remote_servers>`: migrations create replicated "
        "tables on every node, the events and per-person tables sharded by visitor behind "
        "Distributed tables (see [Scale out](../how-to/scaling-out.md)); unset: one node",
    )
    collector_host: str = setting("127.0.0.1", _text, "address the collector binds")
    collector_port: int = setting(8080, _int(0), "port of the collector")
    collector_workers: int = setting(2, _int(1), "gunicorn workers of `journey collect`")
    collector_threads: int = setting(8, _int(1), "threads per collector worker (gthread)")
    api_host: str = setting(
        "127.0.0.1",
        _text,
        "address `journey api` binds (the analysts' API and dashboard; `journey up` serves them "
        "on the collector's port)",
    )
    api_port: int = setting(8090, _int(0), "port of `journey api`")
    api_workers: int = setting(
        2, _int(1), "gunicorn workers of `journey api` (which needs a ClickHouse server)"
    )
    write_keys: Mapping[str, str] = setting(  # key -> source name
        {}, lambda n, v: _write_keys(v), "seed write keys, `name:key,name2:key2`"
    )
    max_event_bytes: int = setting(32 * 1024, _int(256), "largest event, bytes")
    max_batch_bytes: int = setting(500 * 1024, _int(256), "largest request body, after gunzip")
    rate_limit_events_per_key: float = setting(
        0.0, _float(0), "events/s per write key (0: no limit)"
    )
    rate_limit_burst_events: float = setting(
        0.0,
        _float(0),
        "events a write key may send at once before its rate applies (0: the larger of one "
        "second of the rate and 500, more than any SDK's default batch); a batch larger than "
        "the burst still passes once the bucket is full, so no batch is refused for ever",
    )
    rate_limit_requests_per_ip: float = setting(
        0.0, _float(0), "requests/s per client IP (0: no limit)"
    )
    cors_origins: tuple[str, ...] = setting(
        ("*",),
        lambda n, v: tuple(o.strip() for o in v.split(",") if o.strip()),
        "origins allowed to post from browsers, `*` for any",
    )
    anonymize_ip: bool = setting(True, _bool, "zero the host part of client IPs before storing")
    geolocate: bool = setting(
        True,
        _bool,
        "country of the client IP into `context.location.country`, from the offline database "
        "geoip2fast ships",
    )
    trusted_proxies: int = setting(0, _int(0), "X-Forwarded-For hops to trust for the client IP")
    kafka_ack_timeout_s: float = setting(
        5.0, _float(0.1), "how long a request waits for Kafka before spooling, seconds"
    )
    spool_max_bytes: int = setting(
        256 * 1024 * 1024, _int(0), "disk the spool may use before the collector answers 503"
    )
    loader_batch_rows: int = setting(20_000, _int(1), "rows per ClickHouse insert")
    loader_batch_seconds: float = setting(
        1.0, _float(0.01), "longest a row waits for its batch, seconds"
    )
    loader_max_invalid_run: int = setting(
        1000, _int(1), "consecutive dead letters that stop the loader"
    )
    log_format: str = setting(
        "text",
        _choice(("text", "json"), upper=False),
        "how every process logs: `text` lines, or `json`, one object per line (time, level, "
        "logger, message, exception) for a log shipper; gunicorn's logs too",
    )
    metrics_host: str = setting(
        "127.0.0.1",
        _text,
        "address the loader and the alert runner serve `/metrics`, `/healthz` and `/readyz` on "
        "(`0.0.0.0` where Prometheus or Kubernetes' probes come from elsewhere)",
    )
    loader_metrics_port: int = setting(
        9102, _int(0), "port of `journey load`'s metrics and probes (0: any free port)"
    )
    alerts_metrics_port: int = setting(
        9103, _int(0), "port of `journey alerts run`'s metrics and probes (0: any free port)"
    )
    consumer_group: str = setting(
        "journey-loader", _stripped_or("journey-loader"), "the loaders' consumer group"
    )
    schedule_seconds: float = setting(
        60.0,
        _float(0),
        "how often `journey up` looks for due work (segments whose `refresh` schedule has come, "
        "alert rules whose `every` has passed); 0: never",
    )
    personalization_seconds: float = setting(
        10.0,
        _float(0.1),
        "how often a collector looks for a newer publication of public segments (what "
        "`GET /v1/segments` answers from); see [Personalization](../how-to/personalization.md)",
    )
    data_retention_days: int = setting(
        0,
        _int(0),
        "delete events older than this many days (`journey up` daily, `journey expire` for "
        "cron); 0: keep every event. See [the events table](events-table.md)",
    )
    longest_range_days: int = setting(
        731,
        _int_between(1, 7305),
        "the longest period one report reads, days (at most 7305, twenty years); a longer "
        "`since`..`until`, or `since=all` on a store that spans more, is refused naming the "
        "parameter. Raise it for stores with long histories; a long period reads more rows",
    )
    alert_allow_private: bool = setting(
        False,
        _bool,
        "let alert webhooks reach private, loopback and link-local addresses (an internal "
        "receiver)",
    )
    alert_delivery_attempts: int = setting(4, _int(1), "tries per notice and channel")
    alert_retry_seconds: float = setting(
        2.0, _float(0), "first wait between tries, doubled each time"
    )
    smtp_host: str = setting(
        "", lambda n, v: v.strip(), "mail server for e-mail alerts; unset: e-mail notices fail"
    )
    smtp_port: int = setting(25, _int(1), "its port; 465 speaks TLS from the start")
    smtp_user: str = setting(
        "", _text, "log in as this user (with the password), only over TLS (STARTTLS or 465)"
    )
    smtp_password: str = setting("", _text, "the mail server's password", repr=False)
    smtp_from: str = setting(
        "journey@localhost", _stripped_or("journey@localhost"), "sender of alert e-mails"
    )
    smtp_starttls: bool = setting(False, _bool, "upgrade the connection with STARTTLS")

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


def variable(item: Field[Any]) -> str:
    """The environment variable of a field of Settings."""
    return str(item.metadata["env"] or "JOURNEY_" + item.name.upper())


_FIELDS: dict[str, tuple[str, Any]] = {
    variable(f): (f.name, f.metadata["parse"]) for f in fields(Settings)
}


def shown(value: Any) -> str:
    """A default as the settings table writes it."""
    if value is None or value == "" or value == () or value == {}:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, tuple):
        return "`" + ",".join(value) + "`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    return f"`{value}`"


def table() -> str:
    """Every setting as a Markdown table (the documentation's settings page)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for item in fields(Settings):
        factory: Any = item.default_factory
        default = factory() if callable(factory) else item.default
        lines.append(f"| `{variable(item)}` | {shown(default)} | {item.metadata['help']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())

from pathlib import Path

import pytest

from core.settings import SettingsError, from_env


def test_defaults_are_the_embedded_local_setup() -> None:
    s = from_env({})
    assert s.embedded and s.kafka_bootstrap_servers == () and s.data_dir == Path(".journey")
    assert s.database == "journey"


def test_clickhouse_url_is_parsed_and_hides_its_password() -> None:
    s = from_env({"JOURNEY_CLICKHOUSE_URL": "clickhouse://ana:s%40cret@ch.example:9001/analytics"})
    assert s.clickhouse is not None and not s.embedded
    assert (s.clickhouse.user, s.clickhouse.password, s.clickhouse.host, s.clickhouse.port) == (
        "ana",
        "s@cret",
        "ch.example",
        9001,
    )
    assert s.database == "analytics"
    assert "s@cret" not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JOURNEY_CLICKHOUSE_URL": "http://x:8123"}, "JOURNEY_CLICKHOUSE_URL"),
        ({"JOURNEY_CLICKHOUSE_URL": "clickhouse://h/bad-name"}, "database name"),
        ({"JOURNEY_TOPIC_PARTITIONS": "zero"}, "JOURNEY_TOPIC_PARTITIONS"),
        ({"JOURNEY_TOPIC_PARTITIONS": "0"}, "at least 1"),
        ({"JOURNEY_KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "host:port"),
        ({"JOURNEY_ANONYMIZE_IP": "maybe"}, "true or false"),
        ({"JOURNEY_WRITE_KEYS": "nocolon"}, "name:key"),
        ({"JOURNEY_EVENTS_TOPIC": "bad topic"}, "topic name"),
        ({"JOURNEY_EVENTS_TOPIC": "same", "JOURNEY_DEAD_LETTER_TOPIC": "same"}, "must differ"),
        ({"JOURNEY_COLECTOR_PORT": "1"}, "unknown setting JOURNEY_COLECTOR_PORT"),
        ({"JOURNEY_KAFKA_SECURITY_PROTOCOL": "TLS"}, "JOURNEY_KAFKA_SECURITY_PROTOCOL='TLS'"),
        ({"JOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "JOURNEY_KAFKA_SASL_MECHANISM is needed"),
        (
            {
                "JOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "JOURNEY_KAFKA_SASL_MECHANISM": "GSSAPI",
            },
            "JOURNEY_KAFKA_SASL_MECHANISM='GSSAPI'",
        ),
        (
            {
                "JOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "JOURNEY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "JOURNEY_KAFKA_SASL_USERNAME": "u",
            },
            "JOURNEY_KAFKA_SASL_PASSWORD is needed",
        ),
        ({"JOURNEY_KAFKA_SASL_MECHANISM": "PLAIN"}, "does not use SASL"),
        ({"JOURNEY_KAFKA_SSL_CAFILE": "/etc/hosts"}, "does not use TLS"),
        (
            {"JOURNEY_KAFKA_SECURITY_PROTOCOL": "SSL", "JOURNEY_KAFKA_SSL_CAFILE": "/no/such.pem"},
            "JOURNEY_KAFKA_SSL_CAFILE='/no/such.pem': no such file",
        ),
        ({"JOURNEY_KAFKA_COMPRESSION": "brotli"}, "JOURNEY_KAFKA_COMPRESSION='brotli'"),
        ({"JOURNEY_KAFKA_REPLICATION_FACTOR": "-1"}, "JOURNEY_KAFKA_REPLICATION_FACTOR"),
        ({"JOURNEY_KAFKA_CREATE_TOPICS": "sometimes"}, "JOURNEY_KAFKA_CREATE_TOPICS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        from_env(env)


def test_write_keys_seed() -> None:
    s = from_env(
        {"JOURNEY_WRITE_KEYS": "web:k1, app:k2", "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": "a:1,b:2"}
    )
    assert s.write_keys == {"k1": "web", "k2": "app"}
    assert s.kafka_bootstrap_servers == ("a:1", "b:2")


def test_kafka_security_and_compression() -> None:
    s = from_env(
        {
            "JOURNEY_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "JOURNEY_KAFKA_SASL_MECHANISM": "scram-sha-512",
            "JOURNEY_KAFKA_SASL_USERNAME": "journey",
            "JOURNEY_KAFKA_SASL_PASSWORD": "pa55",
            "JOURNEY_KAFKA_COMPRESSION": "ZSTD",
            "JOURNEY_KAFKA_REPLICATION_FACTOR": "3",
            "JOURNEY_KAFKA_CREATE_TOPICS": "false",
        }
    )
    assert (s.kafka_security_protocol, s.kafka_sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (s.kafka_compression, s.kafka_replication_factor, s.kafka_create_topics) == (
        "zstd",
        3,
        False,
    )
    assert "pa55" not in repr(s)
    for codec in ("gzip", "lz4", "zstd", "snappy"):  # each codec's library is installed
        assert from_env({"JOURNEY_KAFKA_COMPRESSION": codec}).kafka_compression == codec


def test_the_longest_range_is_bounded_by_what_the_analyses_can_read() -> None:
    from analyzer.vocabulary import LONGEST_RANGE_DAYS

    assert from_env({}).longest_range_days == 731
    assert from_env({"JOURNEY_LONGEST_RANGE_DAYS": "3660"}).longest_range_days == 3660
    assert from_env({"JOURNEY_LONGEST_RANGE_DAYS": str(LONGEST_RANGE_DAYS)})
    with pytest.raises(SettingsError, match="JOURNEY_LONGEST_RANGE_DAYS.*at most 7305"):
        from_env({"JOURNEY_LONGEST_RANGE_DAYS": str(LONGEST_RANGE_DAYS + 1)})
    with pytest.raises(SettingsError, match="at least 1"):
        from_env({"JOURNEY_LONGEST_RANGE_DAYS": "0"})

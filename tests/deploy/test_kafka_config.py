"""deploy/'s Kafka, started as written on Apache Kafka's own jars. No Docker engine runs here, so
each Compose file's Kafka environment is turned into broker properties the way the apache/kafka
image does (KAFKA_FOO_BAR -> foo.bar), its cluster id is formatted with Kafka's StorageTool, and
the brokers are started with its settings (only the addresses moved to loopback ports). Then
Journey creates its topics there with the deployment's own JOURNEY_* settings, and acks=all
writes must succeed, also with one broker lost. The Helm chart's Strimzi broker and topic
configuration is given to a real broker the same way."""

from __future__ import annotations

import base64
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from core.kafka import ensure_topics, producer_config
from core.settings import from_env
from devservices.kafka_cluster import LocalKafkaCluster, cluster_id
from tests.deploy.test_kubernetes import render

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# set per node by the dev service (loopback ports, a temporary folder); checked here by shape
ADDRESSED = ("node.id", "listeners", "advertised.listeners", "controller.quorum.voters", "log.dirs")


def image_properties(env: dict[str, Any]) -> dict[str, str]:
    """The broker properties the apache/kafka image makes of a container's environment."""
    found = {}
    for name, value in env.items():
        if name.startswith("KAFKA_"):
            key = name[6:].lower().replace("___", "-").replace("__", "@").replace("_", ".")
            found[key.replace("@", "_")] = str(value)
    return found


def compose_kafka(compose: str) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The Compose file and its Kafka services' properties (with CLUSTER_ID kept aside)."""
    doc = yaml.safe_load((DEPLOY / compose).read_text())
    services = {
        name: service
        for name, service in doc["services"].items()
        if str(service.get("image", "")).startswith("apache/kafka")
    }
    nodes = {}
    for name, service in services.items():
        properties = image_properties(service["environment"])
        properties["cluster.id"] = service["environment"]["CLUSTER_ID"]
        mount = next(v.split(":")[1] for v in service["volumes"] if not v.startswith("."))
        assert properties["log.dirs"] == mount, f"{name}: log.dirs is not on its volume"
        advertised = properties["advertised.listeners"]
        assert advertised == f"PLAINTEXT://{name}:9092", (name, advertised)
        nodes[name] = properties
    return doc, nodes


def journey_settings(env: dict[str, Any], servers: tuple[str, ...]) -> Any:
    """The deployment's own Kafka-side JOURNEY_* settings, pointed at the loopback cluster."""
    kept = {
        k: str(v)
        for k, v in env.items()
        if k.startswith(("JOURNEY_KAFKA_", "JOURNEY_TOPIC_", "JOURNEY_EVENTS_", "JOURNEY_DEAD_"))
    }
    return from_env({**kept, "JOURNEY_KAFKA_BOOTSTRAP_SERVERS": ",".join(servers)})


def produce(settings: Any, cluster: LocalKafkaCluster, count: int = 20) -> None:
    config = {**producer_config(settings), "bootstrap_servers": cluster.running_servers}
    producer = KafkaProducer(**{**config, "max_block_ms": 20_000, "request_timeout_ms": 20_000})
    try:
        for i in range(count):
            producer.send(settings.events_topic, key=b"v%d" % i, value=b"{}").get(30)
    finally:
        producer.close()


def describe(cluster: LocalKafkaCluster, topic: str) -> dict[str, Any]:
    admin = KafkaAdminClient(bootstrap_servers=cluster.running_servers)
    try:
        return dict(admin.describe_topics([topic])[0])
    finally:
        admin.close()


def is_kafka_uuid(text: str) -> bool:
    """Kafka's Uuid.toString(): 16 bytes in unpadded base64url. Kafka 3.x's StorageTool refuses
    anything else; 4.x formats it but the Kafka tools that parse cluster ids still do not."""
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except ValueError:
        return False
    return len(text) == 22 and len(raw) == 16


def test_the_uuid_check_refuses_what_the_cluster_compose_file_once_had() -> None:
    assert not is_kafka_uuid("journey-kafka-cluster-01")  # 18 bytes
    assert is_kafka_uuid(cluster_id())
    # kafka-storage reads an id starting with '-' as an option: one random id in 64 did
    assert not any(cluster_id().startswith("-") for _ in range(2000))


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_kafka_formats_starts_and_takes_journeys_topics(
    compose: str, tmp_path: Path
) -> None:
    doc, nodes = compose_kafka(compose)
    names = sorted(nodes)
    ids = {nodes[n]["node.id"] for n in names}
    assert ids == {str(i) for i in range(1, len(names) + 1)}
    (formatted,) = {p.pop("cluster.id") for p in nodes.values()}
    assert is_kafka_uuid(formatted)
    voters = {p["controller.quorum.voters"] for p in nodes.values()}
    assert voters == {",".join(f"{nodes[n]['node.id']}@{n}:9093" for n in names)}
    shared = {k: v for k, v in nodes[names[0]].items() if k not in ADDRESSED}
    assert all({k: v for k, v in p.items() if k not in ADDRESSED} == shared for p in nodes.values())
    with LocalKafkaCluster(
        nodes=len(names), root=tmp_path / "kafka", cluster=formatted, overrides=shared
    ) as cluster:
        settings = journey_settings(doc["x-journey-env"], cluster.servers)
        ensure_topics(settings)  # as the collector and the loaders do at start-up
        topic = describe(cluster, settings.events_topic)
        assert len(topic["partitions"]) == settings.topic_partitions
        assert {len(p["replica_nodes"]) for p in topic["partitions"]} == {len(names)}
        produce(settings, cluster)  # acks=all, idempotent: what the collector sends
        if len(names) > 1:  # one broker lost: min.insync.replicas still met
            cluster.kill_node(cluster.nodes[-1].node_id, signal.SIGKILL)
            produce(settings, cluster)


def test_strimzi_kafka_and_topics_are_accepted_by_a_real_broker(
    tmp_path: Path, tools: Path
) -> None:
    manifests = render()  # the Helm chart's cluster values
    (pool,) = [d for d in manifests if d["kind"] == "KafkaNodePool"]
    (kafka,) = [d for d in manifests if d["kind"] == "Kafka"]
    topics = [d for d in manifests if d["kind"] == "KafkaTopic"]
    (config_map,) = [
        d
        for d in manifests
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "journey-config"
    ]
    broker = {k: str(v) for k, v in kafka["spec"]["kafka"]["config"].items()}
    with LocalKafkaCluster(
        nodes=pool["spec"]["replicas"], root=tmp_path / "kafka", overrides=broker
    ) as cluster:
        admin = KafkaAdminClient(bootstrap_servers=list(cluster.servers))
        try:
            admin.create_topics(  # the topic operator's work: the broker validates each config
                [
                    NewTopic(
                        t["metadata"]["name"],
                        t["spec"]["partitions"],
                        t["spec"]["replicas"],
                        topic_configs={k: str(v) for k, v in t["spec"]["config"].items()},
                    )
                    for t in topics
                ]
            )
        finally:
            admin.close()
        settings = journey_settings(config_map["data"], cluster.servers)
        assert settings.events_topic in {t["metadata"]["name"] for t in topics}
        ensure_topics(settings)  # finds them
        produce(settings, cluster)

"""deploy/ is what a user runs in production, and this repository's machines have no Docker
engine or Kubernetes to run it: these tests check what can be checked without them. Every file
parses; every JOURNEY_* variable set there is a real setting and every setting is documented;
every command is a real `journey` command; the image holds every package; the ClickHouse
cluster's configuration names the services the Compose file starts."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from core.settings import _FIELDS, Settings
from journey.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
YAML_FILES = sorted(DEPLOY.rglob("*.yml")) + sorted(DEPLOY.rglob("*.yaml"))


def documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_every_deploy_file_parses() -> None:
    assert len(YAML_FILES) >= 10
    for path in YAML_FILES:
        assert documents(path), path
    for path in DEPLOY.rglob("*.xml"):
        ET.parse(path)


def test_every_journey_variable_is_a_setting_and_every_setting_is_documented() -> None:
    used: set[str] = set()
    for path in YAML_FILES:
        for node in walk(documents(path)):
            if isinstance(node, dict):
                used |= {k for k in node if isinstance(k, str) and k.startswith("JOURNEY_")}
    used |= set(re.findall(r"JOURNEY_[A-Z_]+", (DEPLOY / "Dockerfile").read_text()))
    assert used, "no settings found in deploy/"
    assert used <= set(_FIELDS), used - set(_FIELDS)
    # documented: the settings page is generated from the same fields (tests/journey/test_reference.py)


def commands() -> list[tuple[Path, list[str]]]:
    found = []
    for path in YAML_FILES:
        for node in walk(documents(path)):
            if isinstance(node, dict) and isinstance(node.get("command"), list):
                found.append((path, [str(c) for c in node["command"]]))
    return found


def test_every_command_is_a_journey_command() -> None:
    found = commands()
    assert {tuple(c[:2]) for _, c in found} >= {
        ("journey", "collect"),
        ("journey", "load"),
        ("journey", "migrate"),
        ("journey", "api"),
        ("journey", "alerts"),
        ("journey", "segments"),
    }
    for path, command in found:
        assert command[0] == "journey", (path, command)
        group: click.Command = main
        for word in command[1:]:
            assert isinstance(group, click.Group), (path, command)
            sub = group.get_command(click.Context(group), word)
            assert sub is not None, f"{path.name}: `{' '.join(command)}`: no {word!r}"
            group = sub


def test_the_image_holds_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (DEPLOY / "Dockerfile").read_text(), re.M))
    assert packages <= copied, packages - copied


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_services_depend_on_services_that_exist(compose: str) -> None:
    (doc,) = documents(DEPLOY / compose)
    services = doc["services"]
    for name, service in services.items():
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), (name, depends)
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, source)
            else:
                assert source in doc["volumes"], (name, source)


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_checks_each_long_running_service_on_its_readiness(compose: str) -> None:
    (doc,) = documents(DEPLOY / compose)
    settings = Settings()
    ports = {
        ("journey", "collect"): settings.collector_port,
        ("journey", "load"): settings.loader_metrics_port,
        ("journey", "api"): settings.api_port,
        ("journey", "alerts", "run"): settings.alerts_metrics_port,
    }
    checked = 0
    for service in doc["services"].values():
        port = ports.get(tuple(service.get("command", ())))
        if port is not None:
            assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
            checked += 1
    assert checked == len(ports)
    waits = doc["services"]["proxy"]["depends_on"]
    assert waits == {name: {"condition": "service_healthy"} for name in ("collector", "api")}


def test_the_cluster_configuration_matches_the_compose_file() -> None:
    (doc,) = documents(DEPLOY / "docker-compose.cluster.yml")
    services = doc["services"]
    config = ET.parse(DEPLOY / "clickhouse" / "cluster.xml").getroot()
    shards = config.findall("./remote_servers/journey/shard")
    hosts = [[r.findtext("host") for r in s.findall("replica")] for s in shards]
    assert len(hosts) == 2 and all(len(h) == 2 for h in hosts)  # 2 shards x 2 replicas
    for s, shard in enumerate(hosts, start=1):
        for host in shard:
            env = services[host]["environment"]
            assert env["SHARD"] == f"{s:02d}" and env["REPLICA"] == host
    keepers = {n.findtext("host") for n in config.findall("./zookeeper/node")}
    assert keepers <= set(services) and len(keepers) == 3
    env = doc["x-journey-env"]
    assert env["JOURNEY_CLICKHOUSE_CLUSTER"] == "journey"
    url_host = env["JOURNEY_CLICKHOUSE_URL"].split("@", 1)[1].split(":", 1)[0]
    assert url_host in {h for shard in hosts for h in shard}


def test_kubernetes_resources_are_listed_and_named_consistently() -> None:
    k8s = DEPLOY / "k8s"
    (kustomization,) = documents(k8s / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in k8s.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present
    kinds = {}
    for name in listed:
        for doc in documents(k8s / name):
            assert {"apiVersion", "kind", "metadata"} <= set(doc), name
            kinds[(doc["kind"], doc["metadata"]["name"])] = doc
    (config,) = [d for k, d in kinds.items() if k == ("ConfigMap", "journey-config")]
    (secret,) = documents(k8s / "secret.example.yaml")
    for (kind, _), doc in kinds.items():
        if kind in {"Deployment", "StatefulSet", "Job", "CronJob"}:
            for node in walk(doc):
                if isinstance(node, dict) and "configMapRef" in node:
                    assert node["configMapRef"]["name"] == config["metadata"]["name"]
                if isinstance(node, dict) and "secretRef" in node:
                    assert node["secretRef"]["name"] == secret["metadata"]["name"]
    assert config["data"]["JOURNEY_CLICKHOUSE_CLUSTER"] == "journey"
    (clickhouse,) = [d for k, d in kinds.items() if k[0] == "ClickHouseInstallation"]
    (cluster,) = clickhouse["spec"]["configuration"]["clusters"]
    assert cluster["name"] == config["data"]["JOURNEY_CLICKHOUSE_CLUSTER"]
    (topic,) = [d for k, d in kinds.items() if k == ("KafkaTopic", "journey.events")]
    assert topic["spec"]["partitions"] == int(config["data"]["JOURNEY_TOPIC_PARTITIONS"])
    # the loaders scale on the consumer group's lag (KEDA), up to one per partition
    assert not [k for k in kinds if k[0] == "HorizontalPodAutoscaler"]
    (scaled,) = [d for k, d in kinds.items() if k[0] == "ScaledObject"]
    assert scaled["spec"]["maxReplicaCount"] <= topic["spec"]["partitions"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["topic"] == config["data"]["JOURNEY_EVENTS_TOPIC"]
    assert trigger["metadata"]["consumerGroup"] == config["data"]["JOURNEY_CONSUMER_GROUP"]
    servers = config["data"]["JOURNEY_KAFKA_BOOTSTRAP_SERVERS"]
    assert trigger["metadata"]["bootstrapServers"] == servers
    # every long-running pod is probed on what its process serves, and scraped there
    for name, port in (
        ("journey-collector", 8080),
        ("journey-api", 8090),
        ("journey-loader", 9102),
        ("journey-alerts", 9103),
    ):
        (workload,) = [d for k, d in kinds.items() if k[1] == name and "template" in d["spec"]]
        pod = workload["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        (app,) = [c for c in pod["spec"]["containers"] if c["name"] != "proxy"]
        assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        named = {p["name"]: p["containerPort"] for p in app["ports"]}
        assert named[app["readinessProbe"]["httpGet"]["port"]] == port


def test_every_module_the_image_runs_is_a_declared_dependency() -> None:
    """`pip install .` (the image) brings only [project] dependencies and what they require, so
    every third-party import of the shipped packages must come from one of those (requests,
    for alert webhooks, was once only a development dependency). The dev services are test-only
    and brought by the `dev` extra."""
    import ast
    import sys
    from importlib.metadata import packages_distributions, requires

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ours = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    closure: set[str] = set()
    todo = [Requirement(r).name for r in project["project"]["dependencies"]]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in closure:
            continue
        closure.add(name)
        for line in requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    distributions = packages_distributions()
    missing = set()
    for package in ours:
        for path in (ROOT / package).rglob("*.py"):
            if "devservices" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module]
                    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                    else []
                )
                for name in names:
                    top = name.split(".")[0]
                    if top in ours or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                    if not dists & closure:
                        missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert not missing, sorted(missing)


def _directives(conf: str) -> list[str]:
    """nginx directives without comments, the upstream addresses and the listen ports."""
    lines = [line.split("#", 1)[0].strip() for line in conf.splitlines()]
    return [x for x in lines if x and not x.startswith(("server 127", "server collector"))
            and not x.startswith(("server api", "listen "))]  # fmt: skip


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_only_the_proxy_is_published(compose: str) -> None:
    """Slow clients would hold gunicorn's threads (tests/deploy/test_proxy.py): the collector
    and the API are reached through nginx only, which the collector trusts as one proxy."""
    (doc,) = documents(DEPLOY / compose)
    services = doc["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["volumes"] == ["./proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    assert {p.split(":")[0] for p in services["proxy"]["ports"]} == {"8080", "8090"}


def test_the_pods_sidecar_proxy_matches_the_compose_proxy() -> None:
    compose = _directives((DEPLOY / "proxy/nginx.conf").read_text())
    pods = _directives((DEPLOY / "k8s/proxy.conf").read_text())
    assert compose == pods and "client_header_timeout 10s;" in compose
    for name, port in (("collector.yaml", 8081), ("api.yaml", 8091)):
        (workload, service) = documents(DEPLOY / "k8s" / name)[:2]
        containers = workload["spec"]["template"]["spec"]["containers"]
        (proxy,) = [c for c in containers if c["name"] == "proxy"]
        assert proxy["ports"] == [{"containerPort": port, "name": "http"}]
        assert service["spec"]["ports"][0]["targetPort"] == "http"  # the sidecar's port
        assert f"listen {port};" in (DEPLOY / "k8s/proxy.conf").read_text()


def test_network_policies_admit_only_the_proxy_and_prometheus() -> None:
    """Every Journey pod that listens is selected by a policy admitting only its nginx port
    (collector, API) or its metrics port from the monitoring namespace (loader, alerts): no pod
    of the cluster reaches gunicorn or a metrics port around them."""
    k8s = DEPLOY / "k8s"
    policies = documents(k8s / "network-policy.yaml")
    admitted: dict[str, set[str]] = {}
    for policy in policies:
        assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Ingress"]
        (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
        ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        for app in selector["values"]:
            admitted[app] = ports
    for name in ("collector.yaml", "api.yaml", "loader.yaml", "alerts.yaml"):
        workload = documents(k8s / name)[0]
        app = workload["spec"]["template"]["metadata"]["labels"]["app"]
        listening = {
            port["name"]
            for container in workload["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        assert app in admitted, app
        assert admitted[app] <= listening, (app, admitted[app], listening)
        assert "app" not in admitted[app], app  # gunicorn's own port is never admitted
    (kustomization,) = documents(k8s / "kustomization.yaml")
    assert "network-policy.yaml" in kustomization["resources"]

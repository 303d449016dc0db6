"""The Helm chart (deploy/helm/journey) as a Kubernetes API server and its operators would take
it, checked without a cluster, for the cluster values and the single-node ones:

- `helm lint --strict` and `helm template` (helm built from its Go module);
- every built-in resource against the Kubernetes schemas, strictly (an unknown field is refused,
  as `kubectl apply` refuses it), for the oldest Kubernetes the chart accepts and the newest;
- the Strimzi resources read by the Strimzi operator's own model at the release Chart.yaml pins
  (io.strimzi:api from Maven Central: tests/deploy/strimzi/StrimziModel.java), and the Kafka
  version against the versions that release runs;
- KEDA's ScaledObject against the CRD of the pinned KEDA release (from its Go module);
- what production needs of every workload: a non-root user, no privilege escalation, requests
  and limits, disruption budgets, migrations that run again on every upgrade.

The tools come from scripts/install-deploy-tools (run by `make test`; quick when present)."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "journey"
TOOLS = ROOT / ".tools"
META = yaml.safe_load((CHART / "Chart.yaml").read_text())
PINNED = META["annotations"]
VALUE_SETS = {"cluster": [], "single-node": ["-f", str(CHART / "values-single-node.yaml")]}
OLDEST = re.sub(r"[^0-9.]", "", META["kubeVersion"].split("-")[0])  # ">=1.30.0-0" -> 1.30.0
KUBERNETES = (OLDEST, kubernetes_validate.latest_version())
OPERATED = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ScaledObject"}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOOLS / "bin" / "helm"), *args], capture_output=True, text=True)


def render(*args: str) -> list[dict[str, Any]]:
    done = helm("template", "journey", str(CHART), "--namespace", "journey", *args)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest, tools: Path) -> list[dict[str, Any]]:
    return render(*VALUE_SETS[request.param])


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]


def pods(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each workload's pod template."""
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet", "Job"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]
        elif doc["kind"] == "CronJob":
            yield doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"]


# the tools


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_lints_the_chart_strictly(tools: Path, values: str) -> None:
    done = helm("lint", "--strict", str(CHART), *VALUE_SETS[values])
    assert done.returncode == 0, done.stdout + done.stderr


def java21() -> str:
    """A Java of 21 or later (Strimzi's model is built for 21): JAVA_HOME, PATH, /usr/lib/jvm."""
    found = [os.environ.get("JAVA_HOME", ""), *sorted(Path("/usr/lib/jvm").glob("*"), reverse=True)]
    for home in found:
        java = Path(home) / "bin" / "java"
        if home and java.exists():
            out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
            match = re.search(r'version "(\d+)', out)
            if match and int(match.group(1)) >= 21:
                return str(java)
    raise AssertionError("Strimzi's model needs Java 21 or later (JAVA_HOME or /usr/lib/jvm)")


def strimzi(tmp_path: Path, docs: list[dict[str, Any]]) -> tuple[int, list[str]]:
    path = tmp_path / "resources.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    model = ROOT / "tests" / "deploy" / "strimzi" / "StrimziModel.java"
    classpath = (TOOLS / "strimzi.classpath").read_text().strip()
    done = subprocess.run(
        [java21(), "-cp", classpath, str(model), str(path)], capture_output=True, text=True
    )
    return done.returncode, done.stdout.splitlines()


def crd_schema(node: Any) -> Any:
    """A CRD's openAPIV3Schema as the API server applies it: an object with properties takes no
    other field unless it preserves unknown fields; int-or-string takes either."""
    if isinstance(node, list):
        return [crd_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: (
            {k: crd_schema(v) for k, v in value.items()}
            if key == "properties"
            else crd_schema(value)
        )
        for key, value in node.items()
        if not key.startswith("x-kubernetes-")
    }
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in node
    ):
        out["additionalProperties"] = False
    return out


def keda_refusals(doc: dict[str, Any]) -> list[str]:
    crd = yaml.safe_load(
        (
            TOOLS / f"keda-{PINNED['journey.dev/keda-version']}" / "keda.sh_scaledobjects.yaml"
        ).read_text()
    )
    group, version = doc["apiVersion"].split("/")
    served = {v["name"]: v for v in crd["spec"]["versions"] if v["served"]}
    if group != crd["spec"]["group"] or version not in served:
        return [f"apiVersion {doc['apiVersion']} is not served by KEDA"]
    schema = crd_schema(served[version]["schema"]["openAPIV3Schema"])
    body = {k: v for k, v in doc.items() if k != "metadata"}
    found = Draft7Validator(schema).iter_errors(body)
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in found]


# the API server's schemas


@pytest.mark.parametrize("kubernetes", KUBERNETES)
def test_every_built_in_resource_is_valid_for_the_api_server(
    rendered: list[dict[str, Any]], kubernetes: str
) -> None:
    refused = []
    for doc in rendered:
        if doc["kind"] in OPERATED:
            continue
        try:
            kubernetes_validate.validate(doc, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(map(str, exc.path))
            refused.append(f"{doc['kind']}/{doc['metadata']['name']} {path}: {exc.message}")
    assert not refused, refused
    assert {d["kind"] for d in rendered} >= {"StatefulSet", "Deployment", "CronJob", "Job"}


def test_the_strimzi_resources_are_read_by_the_pinned_strimzi_model(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    code, lines = strimzi(tmp_path, rendered)
    assert code == 0, lines
    assert lines[-1] == "read 4 Strimzi resources, refused 0"
    (kafka,) = find(rendered, "Kafka")
    supported = PINNED["journey.dev/strimzi-kafka-versions"].split(",")
    assert kafka["spec"]["kafka"]["version"] in supported


def test_the_strimzi_model_refuses_what_the_operator_refuses(tmp_path: Path, tools: Path) -> None:
    """The files Journey shipped before: v1beta2, which Strimzi 1.0 and later no longer serve.
    And what the model reads strictly: an unknown field, a value outside an enum, a string
    where a number goes."""
    old = [
        d
        for d in yaml.safe_load_all(
            (ROOT / "tests/deploy/fixtures/strimzi-v1beta2-kafka.yaml").read_text()
        )
        if d
    ]
    code, lines = strimzi(tmp_path, old)
    assert code == 1
    assert lines[:4] == [
        f"{d['kind']}/{d['metadata']['name']}: apiVersion kafka.strimzi.io/v1beta2 is not served "
        "by this Strimzi release (it serves kafka.strimzi.io/v1)"
        for d in old
    ]
    docs = render()
    (pool,) = find(docs, "KafkaNodePool")
    pool["spec"]["storage"]["sizee"] = "1Gi"
    pool["spec"]["roles"] = ["controller", "brokr"]
    (kafka,) = find(docs, "Kafka")
    kafka["spec"]["kafka"]["listeners"][0]["type"] = "internl"
    topic = find(docs, "KafkaTopic", "journey.events")[0]
    topic["spec"]["partitions"] = "24"
    code, lines = strimzi(tmp_path, docs)
    assert code == 1
    assert "KafkaNodePool/dual.spec.storage: unknown field(s) [sizee]" in lines
    assert 'KafkaNodePool/dual.spec.roles[1]: "brokr" is not a value the model knows' in lines
    assert (
        'Kafka/journey.spec.kafka.listeners[0].type: "internl" is not a value the model knows'
        in lines
    )
    assert any(line.startswith("KafkaTopic/journey.events: Cannot coerce String") for line in lines)
    assert lines[-1] == "read 4 Strimzi resources, refused 4"


def test_a_kafka_version_the_pinned_strimzi_does_not_run_is_refused_when_rendering(
    tools: Path,
) -> None:
    """Kafka 4.4.0 with Strimzi: no Strimzi release ran it when the chart was pinned."""
    done = helm("template", "journey", str(CHART), "--set", "kafka.version=4.4.0")
    assert done.returncode != 0
    assert (
        "kafka.version 4.4.0: the pinned Strimzi release runs Kafka 4.2.0, 4.2.1, 4.3.0, 4.3.1"
        in done.stderr
    )
    done = helm("template", "journey", str(CHART), "--set", "keeper.replicas=0")
    assert (
        "a ClickHouse cluster (shards or replicas above 1) needs ClickHouse Keeper" in done.stderr
    )


def test_the_loaders_scaler_is_valid_for_the_pinned_keda(tools: Path) -> None:
    (scaled,) = find(render(), "ScaledObject")
    assert keda_refusals(scaled) == []
    scaled["spec"]["triggers"][0]["metadatta"] = scaled["spec"]["triggers"][0].pop("metadata")
    scaled["spec"]["minReplicaCount"] = "2"
    refused = keda_refusals(scaled)
    assert any("'metadatta' was unexpected" in r for r in refused), refused
    assert any(r.startswith("spec.minReplicaCount: '2' is not of type 'integer'") for r in refused)
    assert keda_refusals({**scaled, "apiVersion": "keda.sh/v1beta9"}) == [
        "apiVersion keda.sh/v1beta9 is not served by KEDA"
    ]


# what production needs of every workload


def test_every_pod_runs_as_a_non_root_user_without_privileges(
    rendered: list[dict[str, Any]],
) -> None:
    checked = 0
    for name, pod in pods(rendered):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            image = container["image"]
            # Journey's processes and nginx write only to their volumes; ClickHouse's image
            # writes its user's file under /etc at start
            if not image.startswith("clickhouse/"):
                assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                assert "/tmp" in mounts, (name, container["name"])
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), (name, container["name"])
            assert "memory" in resources["limits"], (name, container["name"])
            checked += 1
    assert checked >= 9


def test_collectors_loaders_and_the_stores_have_disruption_budgets(
    rendered: list[dict[str, Any]],
) -> None:
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app"] for d in find(rendered, "PodDisruptionBudget")
    }
    assert {"journey-collector", "journey-loader", "journey-clickhouse"} <= budgets
    for budget in find(rendered, "PodDisruptionBudget"):
        assert budget["spec"].get("maxUnavailable") == 1  # a single node can still be drained


def test_scheduled_jobs_and_migrations(rendered: list[dict[str, Any]]) -> None:
    commands = {
        d["metadata"]["name"]: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][
            0
        ]["command"]
        for d in find(rendered, "CronJob")
    }
    assert commands == {
        "journey-segments-refresh": ["journey", "segments", "refresh", "--due"],
        "journey-expire": ["journey", "expire"],
    }
    (migrate,) = find(rendered, "Job")
    hooks = migrate["metadata"]["annotations"]
    # a hook Helm deletes and creates again: the migrations run after the install and before
    # every upgrade (a plain Job's template cannot be changed once applied)
    assert hooks["helm.sh/hook"] == "post-install,pre-upgrade"
    assert hooks["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert migrate["spec"]["template"]["spec"]["containers"][0]["command"] == ["journey", "migrate"]


def test_every_journey_command_is_a_real_one(rendered: list[dict[str, Any]]) -> None:
    from tests.deploy.test_manifests import SERVICES, commands, unknown_word

    found = [c for c in commands(rendered) if c[0] == "journey"]
    scheduled = {("journey", "segments"), ("journey", "expire")}  # CronJobs here
    assert {tuple(c[:2]) for c in found} >= SERVICES | scheduled
    assert [(c, unknown_word(c)) for c in found if unknown_word(c)] == []


def test_workloads_read_the_settings_and_the_secret_the_chart_names(
    rendered: list[dict[str, Any]],
) -> None:
    from core.settings import _FIELDS

    (config,) = find(rendered, "ConfigMap", "journey-config")
    data = config["data"]
    assert set(data) <= set(_FIELDS), set(data) - set(_FIELDS)
    for name, pod in pods(rendered):
        for container in pod["spec"]["containers"]:
            if container["image"].startswith("registry.example.com/journey:"):
                assert container["envFrom"] == [
                    {"configMapRef": {"name": "journey-config"}},
                    {"secretRef": {"name": "journey-secrets"}},
                ], name
    topic = find(rendered, "KafkaTopic", "journey.events")[0]
    assert topic["spec"]["partitions"] == int(data["JOURNEY_TOPIC_PARTITIONS"])
    assert data["JOURNEY_KAFKA_BOOTSTRAP_SERVERS"] == "journey-kafka-bootstrap:9092"
    for scaled in find(rendered, "ScaledObject"):
        assert scaled["spec"]["maxReplicaCount"] == topic["spec"]["partitions"]
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["topic"] == data["JOURNEY_EVENTS_TOPIC"]
        assert trigger["metadata"]["consumerGroup"] == data["JOURNEY_CONSUMER_GROUP"]
        assert trigger["metadata"]["bootstrapServers"] == data["JOURNEY_KAFKA_BOOTSTRAP_SERVERS"]
    # every long-running pod is probed on what its process serves, and scraped there
    for name, port in (
        ("journey-collector", 8080),
        ("journey-api", 8090),
        ("journey-loader", 9102),
        ("journey-alerts", 9103),
    ):
        pod = dict(pods(rendered))[name]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        (app,) = [c for c in pod["spec"]["containers"] if c["name"] != "proxy"]
        assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        named = {p["name"]: p["containerPort"] for p in app["ports"]}
        assert named[app["readinessProbe"]["httpGet"]["port"]] == port


def test_the_clickhouse_cluster_configuration_names_the_pods_the_chart_starts(
    rendered: list[dict[str, Any]],
) -> None:
    (config,) = find(rendered, "ConfigMap", "journey-config")
    xml = ET.fromstring(find(rendered, "ConfigMap", "journey-clickhouse")[0]["data"]["journey.xml"])
    shards = [
        s
        for s in find(rendered, "StatefulSet")
        if s["metadata"]["name"].startswith("journey-clickhouse-s")
    ]
    services = {s["metadata"]["name"] for s in find(rendered, "Service")}
    if len(shards) == 1 and shards[0]["spec"]["replicas"] == 1:
        assert xml.find("remote_servers") is None and not find(
            rendered, "StatefulSet", "journey-keeper"
        )
        assert "JOURNEY_CLICKHOUSE_CLUSTER" not in config["data"]
        return
    assert config["data"]["JOURNEY_CLICKHOUSE_CLUSTER"] == "journey"
    hosts = [
        [r.findtext("host") for r in s.findall("replica")]
        for s in xml.findall("./remote_servers/journey/shard")
    ]
    assert hosts == [
        [
            f"{s['metadata']['name']}-{i}.{s['spec']['serviceName']}"
            for i in range(s["spec"]["replicas"])
        ]
        for s in shards
    ]
    assert {s["spec"]["serviceName"] for s in shards} <= services
    (keeper,) = find(rendered, "StatefulSet", "journey-keeper")
    assert [n.findtext("host") for n in xml.findall("./zookeeper/node")] == [
        f"journey-keeper-{i}.journey-keeper" for i in range(keeper["spec"]["replicas"])
    ]
    raft = ET.fromstring(find(rendered, "ConfigMap", "journey-keeper")[0]["data"]["journey.xml"])
    assert [s.findtext("hostname") for s in raft.iter("server")] == [
        n.findtext("host") for n in xml.findall("./zookeeper/node")
    ]


def test_the_pods_sidecar_proxy_matches_the_compose_proxy(rendered: list[dict[str, Any]]) -> None:
    from tests.deploy.test_manifests import _directives

    compose = _directives((ROOT / "deploy/proxy/nginx.conf").read_text())
    conf = find(rendered, "ConfigMap", "journey-proxy")[0]["data"]["proxy.conf"]
    assert compose == _directives(conf) and "client_header_timeout 10s;" in compose
    for name, port in (("journey-collector", 8081), ("journey-api", 8091)):
        pod = dict(pods(rendered))[name]
        (proxy,) = [c for c in pod["spec"]["containers"] if c["name"] == "proxy"]
        assert proxy["ports"] == [{"containerPort": port, "name": "http"}]
        (service,) = find(rendered, "Service", name)
        assert service["spec"]["ports"][0]["targetPort"] == "http"  # the sidecar's port
        assert f"listen {port};" in conf


def test_network_policies_admit_only_the_proxy_and_prometheus(
    rendered: list[dict[str, Any]],
) -> None:
    """Every Journey pod that listens is selected by a policy admitting only its nginx port
    (collector, API) or its metrics port from the monitoring namespace (loader, alerts): no pod
    of the cluster reaches gunicorn or a metrics port around them."""
    admitted: dict[str, set[str]] = {}
    for policy in find(rendered, "NetworkPolicy"):
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
        ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])}
        for app in selector["values"]:
            admitted[app] = ports
    for name in ("journey-collector", "journey-api", "journey-loader", "journey-alerts"):
        pod = dict(pods(rendered))[name]
        app = pod["metadata"]["labels"]["app"]
        listening = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        assert app in admitted, app
        assert admitted[app] and admitted[app] <= listening, (app, admitted[app], listening)
        assert "app" not in admitted[app], app  # gunicorn's own port is never admitted
    assert {"journey-clickhouse", "journey-keeper"} <= set(admitted)


def test_the_pinned_versions_are_the_ones_checked_and_the_ones_the_readme_states() -> None:
    pom = (ROOT / "tests/deploy/strimzi/pom.xml").read_text()
    (strimzi,) = re.findall(r"<strimzi.version>(.+)</strimzi.version>", pom)
    assert strimzi == PINNED["journey.dev/strimzi-version"]
    readme = (ROOT / "deploy/README.md").read_text()
    kafka = PINNED["journey.dev/strimzi-kafka-versions"].split(",")
    assert (
        f"| {strimzi} (serves `kafka.strimzi.io/v1`; runs Kafka {kafka[0]} to {kafka[-1]})"
        in readme
    )
    assert f"| {PINNED['journey.dev/keda-version']} (`keda.sh/v1alpha1`)" in readme
    assert f"Kubernetes {OLDEST.rsplit('.', 1)[0]} or later" in readme
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert f"`Kafka` ({values['kafka']['version']}, KRaft)" in readme

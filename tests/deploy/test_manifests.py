"""deploy/ is what a user runs in production, and this repository's machines have no Docker
engine or Kubernetes to run it: these tests check what can be checked without them. Every file
parses; every JOURNEY_* variable set there is a real setting and every setting is documented;
every command is a real `journey` command; the image holds every package; the ClickHouse
cluster's configuration names the services the Compose file starts."""

from __future__ import annotations

import re
import subprocess
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
# the chart's templates are Go templates, read rendered by tests/deploy/test_kubernetes.py
YAML_FILES = [
    p
    for p in sorted(DEPLOY.rglob("*.yml")) + sorted(DEPLOY.rglob("*.yaml"))
    if "templates" not in p.parts
]


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
    assert len(YAML_FILES) >= 6
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


def commands(docs: Any) -> list[list[str]]:
    """Every container command in ``docs``."""
    return [
        [str(c) for c in node["command"]]
        for node in walk(docs)
        if isinstance(node, dict) and isinstance(node.get("command"), list)
    ]


def unknown_word(command: list[str]) -> str | None:
    """The first word of a `journey ...` command that is not a command or an option of it."""
    if command[0] != "journey":
        return command[0]
    group: click.Command = main
    for word in command[1:]:
        if word.startswith("-"):
            options = {o for p in group.params for o in getattr(p, "opts", [])}
            if word.split("=")[0] not in options:
                return word
        elif isinstance(group, click.Group):
            sub = group.get_command(click.Context(group), word)
            if sub is None:
                return word
            group = sub
    return None


# the long-running services and the migrations, which every deployment runs
SERVICES = {("journey", w) for w in ("collect", "load", "migrate", "api", "alerts")}


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_every_command_is_a_journey_command(compose: str) -> None:
    found = [c for c in commands(documents(DEPLOY / compose)) if c[0] == "journey"]
    assert {tuple(c[:2]) for c in found} >= SERVICES
    assert [(c, unknown_word(c)) for c in found if unknown_word(c)] == []
    assert unknown_word(["journey", "segments", "refresh", "--duee"]) == "--duee"
    assert unknown_word(["journey", "segmnts"]) == "segmnts"


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

    def closure(requirements: list[str]) -> set[str]:
        found: set[str] = set()
        todo = [Requirement(r).name for r in requirements]
        while todo:
            name = todo.pop().lower().replace("_", "-")
            if name in found:
                continue
            found.add(name)
            for line in requires(name) or []:
                requirement = Requirement(line)
                if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                    todo.append(requirement.name)
        return found

    image = closure(project["project"]["dependencies"])
    # the embedded extra (chDB, the bundled broker) is imported by the embedded store alone;
    # the broker's package is imported by name through core.extras
    embedded = closure(project["project"]["optional-dependencies"]["embedded"]) | image
    only_embedded = {Path("storage/embedded.py")}
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
                    allowed = embedded if path.relative_to(ROOT) in only_embedded else image
                    if not dists & allowed:
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


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_builds_one_image_and_starts_each_service_when_what_it_needs_is_ready(
    compose: str,
) -> None:
    """One image for every Journey service, built once (by `migrate`); Kafka, ClickHouse and
    Keeper report their health; the services that use the tables start once the migrations
    have succeeded, and nothing starts against a Kafka or ClickHouse that is not up."""
    (doc,) = documents(DEPLOY / compose)
    services = doc["services"]
    ours = {n: s for n, s in services.items() if s.get("command", [""])[0] == "journey"}
    assert {s["image"] for s in ours.values()} == {"${JOURNEY_IMAGE:-journey:local}"}
    assert [n for n, s in ours.items() if "build" in s] == ["migrate"]
    assert services["migrate"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    stores = {
        n for n, s in services.items() if s.get("image", "").split(":")[0] in {
            "apache/kafka", "clickhouse/clickhouse-server", "clickhouse/clickhouse-keeper"}
    }  # fmt: skip
    assert len(stores) == (2 if compose == "docker-compose.yml" else 10)
    for name in stores:
        assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL", name
    for name, service in ours.items():
        waits = service.get("depends_on", {})
        assert isinstance(waits, dict), name
        for other, condition in waits.items():
            wanted = "service_completed_successfully" if other == "migrate" else "service_healthy"
            assert condition == {"condition": wanted}, (name, other)
        if name in {"loader", "api", "alerts"}:
            assert "migrate" in waits, name
    for name in stores:  # ClickHouse waits for its Keepers
        for other, condition in services[name].get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, other)


def test_compose_files_load_with_docker_composes_own_loader(tools: Path, tmp_path: Path) -> None:
    """compose-go (tests/deploy/compose): the Compose specification's schema, anchors, merges
    and interpolation, then its consistency checks, as `docker compose up` reads the files."""
    check = str(tools / "bin" / "compose-check")
    files = [str(DEPLOY / "docker-compose.yml"), str(DEPLOY / "docker-compose.cluster.yml")]
    done = subprocess.run([check, *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [f"{files[0]}: 8 services", f"{files[1]}: 16 services"]
    text = (DEPLOY / "docker-compose.yml").read_text()
    for wrong, refused in (
        (("service_completed_successfully", "service_complete"), "must be one of"),
        (("      kafka: {condition", "      kafkaa: {condition"), 'undefined service "kafkaa"'),
    ):
        bad = tmp_path / "docker-compose.yml"
        bad.write_text(text.replace(*wrong))
        done = subprocess.run([check, str(bad)], capture_output=True, text=True)
        assert done.returncode == 1 and refused in done.stdout, done.stdout

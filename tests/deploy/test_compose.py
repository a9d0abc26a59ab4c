"""The deploy files (deploy/compose.yaml, deploy/k8s/hub.yaml) run real `contacthub`
subcommands, with settings the code reads, on a KRaft-mode Kafka.

No container engine runs here, so these are the checks that keep the files honest: a renamed
subcommand or a misspelt variable fails a test instead of a deployment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.cli import build_parser
from hub.config import env_vars

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s" / "hub.yaml"
HUB_IMAGE = "contact-hub"
CHECKED_PREFIXES = ("HUB_", "TWILIO_", "TELEGRAM_")
ROLES = {"migrate", "web", "worker"}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def load_k8s() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(K8S.read_text(encoding="utf-8")) if d]


def is_hub_image(image: object) -> bool:
    return str(image or "").split(":")[0].rsplit("/", 1)[-1] == HUB_IMAGE


def compose_env(env: object) -> dict[str, Any]:
    """A compose `environment` is a mapping or a list of NAME=value."""
    if env is None:
        return {}
    if isinstance(env, dict):
        return dict(env)
    return dict(str(item).partition("=")[::2] for item in env)  # type: ignore[union-attr]


def k8s_pod_specs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for doc in load_k8s():
        pod = (doc.get("spec") or {}).get("template", {}).get("spec")
        if pod:
            out.append((f"{doc['kind']}/{doc['metadata']['name']}", pod))
    return out


def hub_containers() -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, command, environment) of every container that runs the hub image."""
    found: list[tuple[str, Any, dict[str, Any]]] = []
    for name, svc in (load_compose().get("services") or {}).items():
        if is_hub_image(svc.get("image")):
            found.append((f"compose:{name}", svc.get("command"), compose_env(svc.get("environment"))))
    for where, pod in k8s_pod_specs():
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            if is_hub_image(c.get("image")):
                env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env") or []}
                found.append((f"k8s:{where}/{c['name']}", c.get("command") or c.get("args"), env))
    return found


def env_names_set() -> dict[str, str]:
    """Every environment variable name the deploy files set, with where it is set."""
    names: dict[str, str] = {}
    compose = load_compose()
    for key, value in compose.items():
        if key.startswith("x-") and isinstance(value, dict):
            names.update({n: f"compose:{key}" for n in value})
    for name, svc in (compose.get("services") or {}).items():
        names.update({n: f"compose:{name}" for n in compose_env(svc.get("environment"))})
    for doc in load_k8s():
        if doc.get("kind") in ("ConfigMap", "Secret"):
            for section in ("data", "stringData"):
                names.update({n: f"k8s:{doc['kind']}/{doc['metadata']['name']}" for n in doc.get(section) or {}})
    for where, pod in k8s_pod_specs():
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            names.update({e["name"]: f"k8s:{where}/{c['name']}" for e in c.get("env") or []})
    return names


CONTAINERS = hub_containers()


def test_every_role_runs_in_both_files() -> None:
    roles: dict[str, set[str]] = {"compose": set(), "k8s": set()}
    for where, command, _ in CONTAINERS:
        if isinstance(command, list) and len(command) > 1:
            roles[where.split(":")[0]].add(command[1])
    assert roles["compose"] >= ROLES, f"compose.yaml lacks {ROLES - roles['compose']}"
    assert roles["k8s"] >= ROLES, f"k8s/hub.yaml lacks {ROLES - roles['k8s']}"


@pytest.mark.parametrize("where,command", [(w, c) for w, c, _ in CONTAINERS], ids=[w for w, _, _ in CONTAINERS])
def test_hub_container_runs_a_real_subcommand(where: str, command: Any) -> None:
    assert isinstance(command, list) and all(isinstance(a, str) for a in command), (
        f"{where}: command must be a list of strings, got {command!r}"
    )
    assert len(command) >= 2 and command[0] == "contacthub", f"{where}: {command!r} is not `contacthub <subcommand>`"
    try:
        args = build_parser().parse_args(command[1:])
    except SystemExit as exc:
        pytest.fail(f"{where}: `{' '.join(command)}` is rejected by the contacthub parser (exit {exc.code})")
    assert args.command == command[1]


def test_every_setting_named_is_one_the_code_reads() -> None:
    named = {n: w for n, w in env_names_set().items() if n.startswith(CHECKED_PREFIXES)}
    unknown = {n: w for n, w in named.items() if n not in env_vars()}
    assert not unknown, f"settings the code does not read (see hub.config.env_vars()): {unknown}"


def test_every_hub_container_gets_broker_database_and_secret() -> None:
    configmaps = {
        d["metadata"]["name"]: set(d.get("data") or {}) for d in load_k8s() if d.get("kind") == "ConfigMap"
    }
    pods = dict(k8s_pod_specs())
    for where, _, env in CONTAINERS:
        names = set(env)
        if where.startswith("k8s:"):
            pod_key, _, cname = where[len("k8s:"):].rpartition("/")
            container = next(c for c in pods[pod_key]["containers"] if c["name"] == cname)
            for src in container.get("envFrom") or []:
                ref = (src.get("configMapRef") or {}).get("name")
                assert ref in configmaps, f"{where}: envFrom names ConfigMap {ref!r}, not in the file"
                names |= configmaps[ref]
        missing = {"HUB_KAFKA_BOOTSTRAP", "HUB_DATABASE_URL", "HUB_SECRET_KEY"} - names
        assert not missing, f"{where} lacks {missing}"


def test_compose_web_listens_on_all_interfaces_on_its_published_port() -> None:
    web = load_compose()["services"]["web"]
    env = compose_env(web.get("environment"))
    assert env.get("HUB_HTTP_HOST") == "0.0.0.0"
    port = str(env.get("HUB_HTTP_PORT", "8080"))
    targets = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in web.get("ports") or []}
    assert port in targets, f"web listens on {port}, publishes {targets}"


def test_compose_hub_services_point_at_the_compose_kafka_and_postgres() -> None:
    compose = load_compose()
    services = compose["services"]
    for where, _, env in CONTAINERS:
        if not where.startswith("compose:"):
            continue
        kafka_host = str(env["HUB_KAFKA_BOOTSTRAP"]).split(",")[0].rsplit(":", 1)[0]
        assert kafka_host in services, f"{where}: HUB_KAFKA_BOOTSTRAP names {kafka_host!r}, no such service"
        db_host = re.sub(r"^.*@", "", str(env["HUB_DATABASE_URL"]).split("://", 1)[1]).split("/")[0].split(":")[0]
        assert db_host in services, f"{where}: HUB_DATABASE_URL names {db_host!r}, no such service"
        assert str(env["HUB_DATABASE_URL"]).startswith("postgresql+asyncpg://"), where
        for dep in (services[where.split(":", 1)[1]].get("depends_on") or {}):
            assert dep in services, f"{where} depends on unknown service {dep!r}"


def test_compose_builds_the_hub_image_with_every_package() -> None:
    services = load_compose()["services"]
    builds = [s["build"] for s in services.values() if is_hub_image(s.get("image")) and s.get("build")]
    assert builds, "no compose service builds the contact-hub image"
    for build in builds:
        context = (COMPOSE.parent / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{dockerfile} is missing"
        copied = set(re.findall(r"^\s*COPY\s+(?:--\S+\s+)*(\S+)", dockerfile.read_text(encoding="utf-8"), re.M))
        packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]["include"]
        wanted = {p.rstrip("*").rstrip(".") for p in packages}
        assert {p.split(".")[0] for p in wanted} <= {c.rstrip("/") for c in copied}, (
            f"{dockerfile} copies {copied}, the package needs {wanted}"
        )


def test_kafka_runs_in_kraft_mode() -> None:
    services = load_compose()["services"]
    assert not [n for n, s in services.items() if "zookeeper" in (n + str(s.get("image", ""))).lower()]
    kafka = services["kafka"]
    assert str(kafka.get("image", "")).split(":")[0] == "apache/kafka"
    env = compose_env(kafka.get("environment"))
    assert not [n for n in env if "ZOOKEEPER" in n]
    assert set(str(env["KAFKA_PROCESS_ROLES"]).split(",")) == {"broker", "controller"}
    node_id = str(env["KAFKA_NODE_ID"])
    voters = {v.split("@")[0] for v in str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).split(",")}
    assert node_id in voters, f"node {node_id} is not among the controller voters {voters}"
    controller = str(env["KAFKA_CONTROLLER_LISTENER_NAMES"])
    assert f"{controller}://" in str(env["KAFKA_LISTENERS"])
    # what the broker advertises is what the hub services dial
    advertised = {a.split("://", 1)[1] for a in str(env["KAFKA_ADVERTISED_LISTENERS"]).split(",")}
    for where, _, hub_env in CONTAINERS:
        if where.startswith("compose:"):
            assert str(hub_env["HUB_KAFKA_BOOTSTRAP"]).split(",")[0] in advertised, where


def test_k8s_selectors_match_and_the_service_reaches_web() -> None:
    docs = load_k8s()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for name, d in deployments.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert d["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    for svc in (d for d in docs if d["kind"] == "Service"):
        backing = [
            d for d in deployments.values()
            if svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert backing, f"Service {svc['metadata']['name']} selects no Deployment"
        for d in backing:
            ports = {p.get("name") for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            ports |= {p.get("containerPort") for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            for p in svc["spec"]["ports"]:
                assert p.get("targetPort", p["port"]) in ports, f"{svc['metadata']['name']}: targetPort {p} not a container port"


def test_both_files_turn_the_archive_off_for_apache_kafka() -> None:
    from hub import config

    compose = load_compose()
    shared = next(v for k, v in compose.items() if k.startswith("x-") and isinstance(v, dict) and "HUB_KAFKA_BOOTSTRAP" in v)
    configmap = next(d["data"] for d in load_k8s() if d.get("kind") == "ConfigMap")
    for where, env in (("compose", shared), ("k8s", configmap)):
        assert "HUB_ARCHIVE" in env, f"{where} leaves the archive on, as for the embedded broker"
        assert config.load({"HUB_ARCHIVE": str(env["HUB_ARCHIVE"])}).archive is False, where

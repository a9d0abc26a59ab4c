"""The deploy files run real `contacthub` subcommands with settings the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import yaml

from hub.cli import build_parser
from hub.config import ENV_VARS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def hub_containers() -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, svc in compose["services"].items():
        if str(svc.get("image", "")).startswith("contact-hub"):
            yield f"compose:{name}", svc["command"], dict(svc.get("environment") or {})
    for doc in yaml.safe_load_all((DEPLOY / "k8s" / "hub.yaml").read_text()):
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            if str(c.get("image", "")).startswith("contact-hub"):
                yield f"k8s:{doc['metadata']['name']}", c["command"], {e["name"]: e.get("value") for e in c.get("env", [])}


def env_names() -> set[str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    names = set(compose["x-hub-env"])
    for _, _, env in hub_containers():
        names |= set(env)
    for doc in yaml.safe_load_all((DEPLOY / "k8s" / "hub.yaml").read_text()):
        if doc["kind"] == "ConfigMap":
            names |= set(doc["data"])
    return {n for n in names if n.startswith(("HUB_", "TWILIO_", "TELEGRAM_"))}


def test_every_hub_container_runs_a_real_subcommand() -> None:
    seen = list(hub_containers())
    assert {s for s, _, _ in seen} >= {"compose:migrate", "compose:web", "compose:worker", "k8s:contact-hub-web", "k8s:contact-hub-worker", "k8s:contact-hub-migrate"}
    parser = build_parser()
    for where, command, _ in seen:
        assert command[0] == "contacthub", where
        parser.parse_args(command[1:])  # exits (SystemExit) on an unknown subcommand


def test_every_setting_named_is_one_the_code_reads() -> None:
    names = env_names()
    assert "HUB_KAFKA_BOOTSTRAP" in names and "HUB_DATABASE_URL" in names
    unknown = names - set(ENV_VARS)
    assert not unknown, f"settings the code does not read: {unknown}"


def test_kafka_runs_in_kraft_mode() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    kafka = compose["services"]["kafka"]["environment"]
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("zookeeper" in name for name in compose["services"])
    assert compose["x-hub-env"]["HUB_KAFKA_BOOTSTRAP"].split(":")[0] == "kafka"

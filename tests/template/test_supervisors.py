"""Every supervisor the template renders restarts a worker that exits, whatever its exit code.

A worker that stops on its own with status 0 (Celery 5.7 did after a broker restart) is as gone
as one that crashed: systemd's `Restart=on-failure` would leave it down, so would compose's
`on-failure`. The template renders systemd units and compose services; no Kubernetes manifests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.rendering import render

# Restart policies that restart a container whatever its exit code (`unless-stopped` only
# differs from `always` after an explicit `docker compose stop`).
RESTARTS_ON_ANY_EXIT = {"always", "unless-stopped"}
TOOLS = [
    {"tool": "celery"},
    {"tool": "celery", "broker": "rabbitmq"},
    {"tool": "arq"},
    {"tool": "temporal"},
]


def unit_settings(unit: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


@pytest.mark.parametrize("answers", TOOLS, ids=[" ".join(a.values()) for a in TOOLS])
def test_units_and_compose_restart_a_worker_whatever_its_exit_code(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", {**answers, "docker": True})
    units = sorted((project / "deploy" / "systemd").glob("*-worker-*.service"))
    assert units
    for unit in units:
        settings = unit_settings(unit)
        assert settings["Restart"] == "always", unit.name
        assert int(settings["RestartSec"]) > 0, unit.name
        assert ".worker " in settings["ExecStart"], unit.name

    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    workers = {name: service for name, service in services.items() if name.startswith("worker-")}
    assert len(workers) == len(units)
    for name, service in workers.items():
        assert service.get("restart") in RESTARTS_ON_ANY_EXIT, name
        assert ".worker" in " ".join(service["command"]), name

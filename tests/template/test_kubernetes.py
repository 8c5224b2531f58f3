"""`kubernetes: true` renders manifests that validate and agree with the answers and the project.

One render per tool and broker (with the optional parts on and off between them); the checks live
in kubernetes_checks.py and kubernetes_agreement.py. Each kind of check is also shown to fail on a
manifest broken the way a careless edit would break it, and each bad answer to be refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.template.kubernetes_agreement import check_manifests
from tests.template.rendering import render

ARQ_CRON_QUEUES = [
    {"name": "critical", "concurrency": 2},
    {"name": "default", "concurrency": 2},
    {"name": "nightly_reports", "concurrency": 1},
    {"name": "bulk", "concurrency": 4},
]
VARIANTS: dict[str, dict[str, Any]] = {
    "celery-redis": {"object_store": True},
    "celery-rabbitmq": {
        "broker": "rabbitmq",
        "result_backend": "none",
        "flower": False,
        "api": False,
        "scheduling": False,
        "metrics": False,
        "queues": [
            {"name": "critical", "priority": 9, "prefetch": 1, "concurrency": 2, "quorum": True},
            {"name": "default", "priority": 5, "prefetch": 4, "concurrency": 2},
            {"name": "bulk_import", "priority": 1, "prefetch": 8, "concurrency": 1},
        ],
        "task_routes": [{"pattern": "billing.*", "queue": "critical"}],
        "kubernetes_scaling": {
            "critical": {"min_replicas": 2, "max_replicas": 20, "depth_per_replica": 3},
            "default": {"min_replicas": 1, "max_replicas": 5, "depth_per_replica": 10},
            "bulk_import": {"min_replicas": 0, "max_replicas": 8, "depth_per_replica": 50},
        },
    },
    "arq": {"tool": "arq", "database": "postgresql", "queues": ARQ_CRON_QUEUES, "object_store": True},
    "arq-minimal": {"tool": "arq", "api": False, "scheduling": False, "metrics": False},
    "temporal": {"tool": "temporal", "object_store": True},
    "temporal-minimal": {"tool": "temporal", "api": False, "scheduling": False, "metrics": False},
}


@pytest.fixture(scope="module")
def rendered(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        name: render(template_repo, tmp_path_factory.mktemp(name) / "service", {"kubernetes": True, **answers})
        for name, answers in VARIANTS.items()
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_manifests_validate_and_agree_with_the_answers(rendered: dict[str, Path], variant: str) -> None:
    check_manifests(rendered[variant], VARIANTS[variant])


def test_each_tool_renders_its_parts(rendered: dict[str, Path]) -> None:
    def files(variant: str) -> set[str]:
        return {path.name for path in (rendered[variant] / "deploy" / "kubernetes").iterdir()}

    workers = {f"worker-{name}.yaml" for name in ("critical", "high", "default", "low", "bulk")}
    common = {"kustomization.yaml", "config.yaml"}
    assert files("celery-redis") == common | workers | {"beat.yaml", "api.yaml", "flower.yaml"}
    rabbitmq_workers = {"worker-critical.yaml", "worker-default.yaml", "worker-bulk_import.yaml"}
    assert files("celery-rabbitmq") == common | rabbitmq_workers
    assert files("temporal") == common | workers | {"schedules.yaml", "api.yaml", "data.yaml"}
    assert files("arq-minimal") == common | workers
    beat = yaml.safe_load_all((rendered["celery-redis"] / "deploy/kubernetes/beat.yaml").read_text())
    assert [item["spec"].get("replicas") for item in beat] == [2, None]  # the Deployment, its budget


def test_arq_queues_with_cron_jobs_keep_a_worker(rendered: dict[str, Path]) -> None:
    """maintenance.* routes to bulk, which runs the cron jobs: it may not scale to zero."""
    scaling = yaml.safe_load((rendered["arq"] / ".copier-answers.yml").read_text())["kubernetes_scaling"]
    assert {name: entry["min_replicas"] for name, entry in scaling.items()} == {
        "critical": 1,
        "default": 1,
        "nightly_reports": 0,
        "bulk": 1,
    }


def test_without_the_answer_no_manifests(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {})
    assert not (project / "deploy" / "kubernetes").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["kubernetes"] is False and "kubernetes_scaling" not in answers
    assert "Deployment on Kubernetes" not in (project / "README.md").read_text()


def _edit(file: str, change: Callable[[list[dict[str, Any]]], None]) -> Callable[[Path], None]:
    def apply(project: Path) -> None:
        path = project / "deploy" / "kubernetes" / file
        documents = list(yaml.safe_load_all(path.read_text()))
        change(documents)
        path.write_text(yaml.safe_dump_all(documents))

    return apply


def _pod(documents: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = documents[0]["spec"]["template"]["spec"]
    return spec


def _container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = _pod(documents)["containers"][0]
    return container


def _variable(documents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The container's env entry of variable `name`."""
    return next(variable for variable in _container(documents)["env"] if variable["name"] == name)


def _trigger(documents: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """The metadata of a trigger of the file's ScaledObject (after its Deployment and budget)."""
    metadata: dict[str, Any] = documents[2]["spec"]["triggers"][index]["metadata"]
    return metadata


def _add_unlisted_manifest(project: Path) -> None:
    directory = project / "deploy" / "kubernetes"
    (directory / "extra.yaml").write_text((directory / "config.yaml").read_text())


PING_HIGH = "exec celery -A jobs_service.celery_app inspect ping --timeout 5 -d high@$HOSTNAME"


# Each: a careless edit of the default Celery render's manifests, and the error the checks give.
BREAKAGES: dict[str, tuple[Callable[[Path], None], type[BaseException]]] = {
    "unknown field": (
        _edit("worker-low.yaml", lambda docs: _pod(docs).update(restartpolicy="Always")),
        kubernetes_validate.ValidationError,
    ),
    "misspelt ScaledObject field": (
        _edit("worker-low.yaml", lambda docs: docs[2]["spec"].update(minReplicas=1)),
        jsonschema.ValidationError,
    ),
    "number in KEDA metadata": (
        _edit("worker-low.yaml", lambda docs: _trigger(docs, 0).update(listLength=5)),
        jsonschema.ValidationError,
    ),
    "misspelt KEDA metadata": (
        _edit("worker-low.yaml", lambda docs: _trigger(docs, 0).update(listname="low")),
        AssertionError,
    ),
    "grace period under the shutdown": (
        _edit("worker-low.yaml", lambda docs: _pod(docs).update(terminationGracePeriodSeconds=60)),
        AssertionError,
    ),
    "wrong Redis list": (
        _edit("worker-low.yaml", lambda docs: _trigger(docs, 3).update(listName="low-3")),
        AssertionError,
    ),
    "depth not the answer": (
        _edit("worker-low.yaml", lambda docs: _trigger(docs, 0).update(listLength="7")),
        AssertionError,
    ),
    "secret key make env does not write": (
        _edit("worker-low.yaml", lambda docs: _container(docs)["env"][0]["valueFrom"]["secretKeyRef"].update(key="X")),
        AssertionError,
    ),
    "undefined variable in a URL": (
        _edit(
            "api.yaml", lambda docs: _container(docs)["env"][-1].update(value="redis://:$(PASSWD)@$(REDIS_ADDRESS)/0")
        ),
        AssertionError,
    ),
    "probe pings another worker": (
        _edit(
            "worker-low.yaml",
            lambda docs: _container(docs)["livenessProbe"]["exec"]["command"].__setitem__(2, PING_HIGH),
        ),
        AssertionError,
    ),
    "object store key left out of the API": (
        _edit("api.yaml", lambda docs: _container(docs)["env"].remove(_variable(docs, "OBJECT_STORE_SECRET_KEY"))),
        AssertionError,
    ),
    "object store key required": (
        _edit(
            "worker-low.yaml",
            lambda docs: _variable(docs, "OBJECT_STORE_ACCESS_KEY")["valueFrom"]["secretKeyRef"].pop("optional"),
        ),
        AssertionError,
    ),
    "writable root filesystem": (
        _edit("beat.yaml", lambda docs: _container(docs)["securityContext"].update(readOnlyRootFilesystem=False)),
        AssertionError,
    ),
    "manifest left out of the kustomization": (
        _add_unlisted_manifest,
        AssertionError,
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_manifest_fails_the_checks(rendered: dict[str, Path], tmp_path: Path, breakage: str) -> None:
    project = shutil.copytree(rendered["celery-redis"], tmp_path / "service")
    breaks, error = BREAKAGES[breakage]
    breaks(project)
    with pytest.raises(error):
        check_manifests(project, {})


SCALE = {"min_replicas": 1, "max_replicas": 4, "depth_per_replica": 10}
ONE_QUEUE: list[dict[str, Any]] = [{"name": "default"}]


def _scaling(**change: Any) -> dict[str, Any]:
    """One queue, "default", with its scaling changed."""
    return {"queues": ONE_QUEUE, "kubernetes_scaling": {"default": {**SCALE, **change}}}


REFUSED = [
    ({"docker": False}, "Kubernetes runs the image the Dockerfile builds"),
    ({"project_slug": "a" * 41}, "longer than 40 characters"),
    (
        {"project_slug": "a" * 40, "queues": [{"name": "default"}, {"name": "bulk_" + "q" * 11}]},
        'The Kubernetes name "' + "a" * 40 + "-worker-bulk-" + "q" * 11 + "\" of a queue's worker is longer than 63",
    ),
    (
        {"queues": [{"name": "default"}, {"name": "bulk_x"}, {"name": "bulk-x"}]},
        'Two queues differ only in "_" and "-"',
    ),
    ({"kubernetes_scaling": {"default": SCALE}}, 'kubernetes_scaling has no entry for queue "critical"'),
    ({"kubernetes_scaling": "many"}, "kubernetes_scaling must be a mapping"),
    ({"queues": ONE_QUEUE, "kubernetes_scaling": {"default": SCALE, "other": SCALE}}, 'names "other"'),
    ({"queues": ONE_QUEUE, "kubernetes_scaling": {"default": {"min_replicas": 1}}}, "exactly min_replicas"),
    (_scaling(max_replicas="4"), "whole numbers"),
    (_scaling(min_replicas=5), "exceeds max_replicas"),
    (_scaling(max_replicas=101), "to 100"),
    (_scaling(depth_per_replica=0), "at least 1"),
    (_scaling(min_replicas=0), "min_replicas 0 is for bulk queues only"),
    (
        {
            "tool": "arq",
            "queues": [{"name": "default"}, {"name": "bulk"}],
            "task_routes": [{"pattern": "maintenance.*", "queue": "bulk"}],
            "kubernetes_scaling": {"default": SCALE, "bulk": {**SCALE, "min_replicas": 0}},
        },
        "whose worker runs no cron job (here: none)",
    ),
]


@pytest.mark.parametrize(("answers", "reason"), REFUSED, ids=[reason for _, reason in REFUSED])
def test_bad_answers_are_refused(template_repo: Path, tmp_path: Path, answers: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=r"^Validation error for question '[a-z_]+': .") as refused:
        render(template_repo, tmp_path / "service", {"kubernetes": True, **answers})
    assert reason in str(refused.value), str(refused.value)

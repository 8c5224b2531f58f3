"""The Kubernetes manifests agree with the answers and with the project they deploy.

Queues and commands match the project's queues.py and systemd units, the autoscaling numbers
match `kubernetes_scaling`, the grace period outlasts the shutdown and job time limits the
project's settings hold, each probe runs something the project has, and each KEDA trigger reads
the Redis key, RabbitMQ queue or Temporal task queue the project's workers consume.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from tests.template.kubernetes_checks import (
    KEDA_METADATA,
    STORE_SECRETS,
    check_kustomization,
    check_pods_are_locked_down,
    check_secrets,
    config_map,
    containers,
    environment,
    objects,
    project_slug,
    settings_defaults,
    validate_schemas,
)

# The setting that bounds how long running jobs get after SIGTERM, and the job time limits the
# grace period must outlast (they default in settings.py and may be set in the ConfigMap).
SHUTDOWN_SETTING = {
    "celery": "WORKER_SOFT_SHUTDOWN_TIMEOUT",
    "arq": "SHUTDOWN_TIMEOUT",
    "temporal": "GRACEFUL_SHUTDOWN_SECONDS",
}
TIME_LIMITS = {"celery": ("TASK_SOFT_TIME_LIMIT", "TASK_TIME_LIMIT"), "arq": ("JOB_TIMEOUT",), "temporal": ()}


def project_answers(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def project_queues(project: Path, package: str) -> list[str]:
    return re.findall(r'\bname="([^"]+)"', (project / "src" / package / "queues.py").read_text())


def kubernetes_name(queue: str) -> str:
    return queue.replace("_", "-")


def setting(project: Path, package: str, name: str) -> float:
    """The value a process sees: the ConfigMap's, or else the project's default."""
    value = config_map(project).get(name, settings_defaults(project, package)[name])
    return float(value)


def check_workers_match_the_queues(project: Path, answers: dict[str, Any]) -> None:
    package, slug = answers["package_name"], project_slug(project)
    queues = project_queues(project, package)
    assert queues == [queue["name"] for queue in answers["queues"]]
    workers = {
        owner["metadata"]["name"]: container
        for owner, container in containers(project)
        if owner["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }
    assert sorted(workers) == sorted(f"{slug}-worker-{kubernetes_name(queue)}" for queue in queues)
    units = project / "deploy" / "systemd"
    for queue in queues:
        command = workers[f"{slug}-worker-{kubernetes_name(queue)}"]["command"]
        assert command == ["python", "-m", f"{package}.worker", queue]
        unit = (units / f"{slug}-worker-{queue}.service").read_text()
        (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
        assert shlex.split(exec_start)[1:] == command[1:], exec_start
    for kind in ("PodDisruptionBudget", "ScaledObject"):
        names = [item["metadata"]["name"] for item in objects(project, kind)]
        assert sorted(name for name in names if "-worker-" in name) == sorted(workers), kind


def check_autoscaling_matches_the_answers(project: Path, answers: dict[str, Any]) -> None:
    slug, tool = project_slug(project), answers["tool"]
    scaling = project_answers(project)["kubernetes_scaling"]
    if "kubernetes_scaling" in answers:
        assert scaling == answers["kubernetes_scaling"]
    names = [queue["name"] for queue in answers["queues"]]
    bulk = names[names.index("default") + 1 :]
    deployments = {item["metadata"]["name"]: item for item in objects(project, "Deployment")}
    for scaled in objects(project, "ScaledObject"):
        queue = next(name for name in names if scaled["metadata"]["name"] == f"{slug}-worker-{kubernetes_name(name)}")
        wanted, spec = scaling[queue], scaled["spec"]
        target = deployments[spec["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "KEDA sets the replicas"
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (wanted["min_replicas"], wanted["max_replicas"])
        assert spec["minReplicaCount"] > 0 or queue in bulk
        (container,) = target["spec"]["template"]["spec"]["containers"]
        seen = environment(project, container)
        depths = set()
        for trigger in spec["triggers"]:
            metadata = trigger["metadata"]
            known = KEDA_METADATA[trigger["type"]]
            assert known["required"] <= set(metadata) <= known["required"] | known["allowed"], metadata
            for key, variable in metadata.items():
                if key.endswith("FromEnv"):
                    assert variable in seen, f"{key}: {variable} is not in the worker's environment"
            depths.add(metadata.get("listLength") or metadata.get("value") or metadata.get("targetQueueSize"))
        assert depths == {str(wanted["depth_per_replica"])}
        assert set(map(trigger_source, spec["triggers"])) == consumed_sources(project, answers, queue)
        assert {trigger["type"] for trigger in spec["triggers"]} == {
            "temporal" if tool == "temporal" else "rabbitmq" if answers.get("broker") == "rabbitmq" else "redis"
        }


def trigger_source(trigger: dict[str, Any]) -> str:
    metadata = trigger["metadata"]
    return str(metadata.get("listName") or metadata.get("queueName") or metadata.get("taskQueue"))


def consumed_sources(project: Path, answers: dict[str, Any], queue: str) -> set[str]:
    """What the project's worker of `queue` consumes, from its own settings and code."""
    package, tool = answers["package_name"], answers["tool"]
    defaults = settings_defaults(project, package)
    if tool == "temporal":
        return {config_map(project).get("TASK_QUEUE_PREFIX", defaults["TASK_QUEUE_PREFIX"]) + queue}
    if tool == "arq":
        # Settings.queue_name: KEY_PREFIX:queue:QUEUE_PREFIX<name>, a sorted set.
        return {f"{defaults['KEY_PREFIX']}:queue:{defaults['QUEUE_PREFIX']}{queue}"}
    name = defaults["QUEUE_PREFIX"] + queue
    if answers.get("broker") == "rabbitmq":
        return {name}
    # kombu's Redis lists: "<name>" and "<name><sep><p>" for p in priority_steps (p > 0).
    depth_module = (project / "src" / package / "monitoring" / "queue_depth.py").read_text()
    (separator,) = re.findall(r'^PRIORITY_SEPARATOR = "(.)"', depth_module, re.MULTILINE)
    assert "list(range(10))" in (project / "src" / package / "celery_config.py").read_text()
    return {name, *(f"{name}{separator}{level}" for level in range(1, 10))}


def check_shutdown_outlasts_running_jobs(project: Path, answers: dict[str, Any]) -> None:
    package, tool = answers["package_name"], answers["tool"]
    shutdown = setting(project, package, SHUTDOWN_SETTING[tool])
    limits = [setting(project, package, name) for name in TIME_LIMITS[tool]]
    assert all(shutdown >= limit for limit in limits), (shutdown, limits)
    for owner, _ in containers(project):
        if owner["metadata"]["labels"]["app.kubernetes.io/component"] == "worker":
            grace = owner["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            assert grace > shutdown and all(grace > limit for limit in limits), (grace, shutdown, limits)


def check_probes_run_what_the_project_has(project: Path, answers: dict[str, Any]) -> None:
    package = answers["package_name"]
    source = project / "src" / package
    for owner, container in containers(project):
        command = container["command"]
        module = command[2] if command[:2] == ["python", "-m"] else None
        if command[0] == "uvicorn":
            module = command[1].split(":")[0]
        if command[0] == "celery":
            module = command[2]
        assert module is not None and (project / "src" / (module.replace(".", "/") + ".py")).is_file(), command
        probes = [container[name] for name in ("readinessProbe", "livenessProbe") if name in container]
        component = owner["metadata"]["labels"]["app.kubernetes.io/component"]
        if component == "worker" and (answers["tool"] != "temporal" or answers.get("metrics", True)):
            assert len(probes) == 2, owner["metadata"]["name"]
        for probe in probes:
            if "httpGet" in probe:
                port = next(port for port in container["ports"] if port["name"] == probe["httpGet"]["port"])
                check_http_probe(source, probe["httpGet"]["path"], port["containerPort"])
            else:
                check_exec_probe(project, package, container, probe["exec"]["command"])


def check_http_probe(source: Path, path: str, port: int) -> None:
    if path == "/healthz":
        assert f'@app.get("{path}")' in (source / "api.py").read_text()
    elif path == "/healthcheck":  # Flower's own
        assert port == 5555 and (source / "flower.py").is_file()
    else:
        assert (path, port) == ("/metrics", 9808), (path, port)
        assert "PrometheusConfig" in (source / "worker.py").read_text()


def check_exec_probe(project: Path, package: str, container: dict[str, Any], command: list[str]) -> None:
    worker = (project / "src" / package / "worker.py").read_text()
    if command[0] == "arq":
        assert command[1:] == [f"{package}.worker.WorkerSettings", "--check"]
        assert re.search(r"^WorkerSettings = ", worker, re.MULTILINE)
        queue = container["command"][-1]
        assert {"name": "WORKER_QUEUE", "value": queue} in container["env"]
        return
    # Celery: the ping of this pod's worker, whose node name worker.py makes "<queues>@%h".
    assert command[:2] == ["sh", "-c"]
    queue = container["command"][-1]
    assert shlex.split(command[2]) == [
        "exec",
        "celery",
        "-A",
        f"{package}.celery_app",
        "inspect",
        "ping",
        "--timeout",
        "5",
        "-d",
        f"{queue}@$HOSTNAME",
    ]
    assert "f\"--hostname={'+'.join(names)}@%h\"" in worker


def check_object_store_reaches_its_users(project: Path, answers: dict[str, Any]) -> None:
    """With the object store on, every pod that reads or writes it (the workers, and the API
    unless a Celery API without results has nothing to read) sees the variables the compose file
    gives its services, from the ConfigMap and the Secret, under the names the settings read."""
    text = "".join(path.read_text() for path in sorted((project / "deploy" / "kubernetes").glob("*.yaml")))
    if not answers.get("object_store"):
        assert "OBJECT_STORE" not in text
        return
    defaults = settings_defaults(project, answers["package_name"])
    store_settings = {name for name in config_map(project) if name.startswith("OBJECT_STORE_")}
    assert store_settings == {"OBJECT_STORE_URL", "OBJECT_STORE_BUCKET", "OBJECT_STORE_REGION"}
    assert store_settings | STORE_SECRETS <= set(defaults), "a variable the settings do not read"
    assert config_map(project)["OBJECT_STORE_BUCKET"] == defaults["OBJECT_STORE_BUCKET"]
    api_reads = answers["tool"] != "celery" or answers["result_backend"] == "redis"
    users = {"worker"} | ({"api"} if answers["api"] and api_reads else set())
    reached = set()
    for owner, container in containers(project):
        component = owner["metadata"]["labels"]["app.kubernetes.io/component"]
        sees = environment(project, container)
        if component in users:
            assert store_settings | STORE_SECRETS <= sees, owner["metadata"]["name"]
            reached.add(component)
        else:
            assert not sees & STORE_SECRETS, f"{owner['metadata']['name']} does not use the store"
    assert reached == users


def check_readme(project: Path) -> None:
    readme = (project / "README.md").read_text()
    assert "## Deployment on Kubernetes" in readme
    assert "`restartPolicy: Always`" in readme and "whatever its exit code" in readme
    assert f"kubectl create secret generic {project_slug(project)}-secrets --from-env-file=.env" in readme


def check_agreement(project: Path, answers: dict[str, Any]) -> None:
    answers = {**project_answers(project), **answers}
    check_workers_match_the_queues(project, answers)
    check_autoscaling_matches_the_answers(project, answers)
    check_shutdown_outlasts_running_jobs(project, answers)
    check_probes_run_what_the_project_has(project, answers)
    check_object_store_reaches_its_users(project, answers)
    check_readme(project)


def check_manifests(project: Path, answers: dict[str, Any]) -> None:
    """Every check: schemas, the kustomization, pod security, secrets, and agreement."""
    validate_schemas(project)
    check_kustomization(project)
    check_pods_are_locked_down(project)
    check_secrets(project)
    for _, container in containers(project):
        environment(project, container)
    check_agreement(project, answers)

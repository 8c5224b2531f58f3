"""Checks of a rendered project's Kubernetes manifests (deploy/kubernetes/), without a cluster.

Every Kubernetes object validates against the schema of Kubernetes 1.30 (`kubernetes-validate`,
strict: an unknown field is an error), every KEDA ScaledObject against the openAPIV3Schema of
KEDA's CRD kept in tests/data, closed the way a strict server-side apply closes it. The numbers
and names must agree with the answers and with the project's own code: its queues, its settings,
the secrets `make env` writes and the commands its probes run.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.30"
KEDA_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "keda-scaledobject-v1alpha1.schema.json"
# The metadata each KEDA scaler the manifests use reads (kedacore/keda pkg/scalers, v2.20): a
# misspelt key is silently ignored by KEDA, so a typo must fail here. `xFromEnv` reads x from the
# scale target's environment.
KEDA_METADATA = {
    "redis": {
        "required": {"listName", "listLength"},
        "allowed": {"addressFromEnv", "passwordFromEnv", "databaseIndex", "activationListLength"},
    },
    "rabbitmq": {
        "required": {"queueName", "mode", "value", "hostFromEnv"},
        "allowed": {"protocol", "activationValue"},
    },
    "temporal": {
        "required": {"endpointFromEnv", "taskQueue", "targetQueueSize"},
        "allowed": {"namespaceFromEnv", "activationTargetQueueSize"},
    },
}
# A DNS-1123 label: what Kubernetes accepts as the name of a Service, and the longest sensible
# name of anything else that gets pods.
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# The object store's key pair: in the Secret when the store needs one (README, Deployment on Kubernetes).
STORE_SECRETS = {"OBJECT_STORE_ACCESS_KEY", "OBJECT_STORE_SECRET_KEY"}
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VARIABLE_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _closed(schema: Any) -> Any:
    """The schema with every object that lists its properties refusing any other property."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if (
            "properties" in closed
            and "additionalProperties" not in closed
            and not closed.get("x-kubernetes-preserve-unknown-fields")
        ):
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@cache
def keda_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_closed(json.loads(KEDA_SCHEMA.read_text())))


@cache
def _parsed(text: str) -> list[dict[str, Any]]:
    """The objects of one manifest (parsed once per content: the checks read them often;
    callers must not change them)."""
    return [document for document in yaml.load_all(text, Loader=SAFE_LOADER) if document is not None]


def manifests(project: Path) -> dict[str, list[dict[str, Any]]]:
    """File name -> the objects in it, for every manifest but kustomization.yaml."""
    directory = project / "deploy" / "kubernetes"
    return {
        path.name: _parsed(path.read_text())
        for path in sorted(directory.glob("*.yaml"))
        if path.name != "kustomization.yaml"
    }


def objects(project: Path, kind: str | None = None) -> list[dict[str, Any]]:
    everything = [document for documents in manifests(project).values() for document in documents]
    return [document for document in everything if kind is None or document["kind"] == kind]


def validate_schemas(project: Path) -> None:
    """Kubernetes objects against the Kubernetes schema, ScaledObjects against KEDA's CRD."""
    for document in objects(project):
        if document["apiVersion"] == "keda.sh/v1alpha1":
            assert document["kind"] == "ScaledObject", document["kind"]
            keda_validator().validate(document)
        else:
            kubernetes_validate.validate(copy.deepcopy(document), KUBERNETES_VERSION, strict=True)
        assert DNS_LABEL.match(document["metadata"]["name"]), document["metadata"]["name"]


def settings_defaults(project: Path, package: str) -> dict[str, Any]:
    """The literal defaults of the project's Settings fields, by environment variable name."""
    tree = ast.parse((project / "src" / package / "settings.py").read_text())
    settings = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings")
    defaults: dict[str, Any] = {}
    for statement in settings.body:
        if not isinstance(statement, ast.AnnAssign) or statement.value is None:
            continue
        value = statement.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "Field":
            value = next((keyword.value for keyword in value.keywords if keyword.arg == "default"), value)
        try:
            defaults[statement.target.id.upper()] = ast.literal_eval(value)  # type: ignore[union-attr]
        except ValueError:
            defaults[statement.target.id.upper()] = None  # not a literal (a SecretStr, a call)
    return defaults


def make_env_secrets(project: Path) -> set[str]:
    """The names scripts/make_env.py fills with fresh secrets."""
    tree = ast.parse((project / "scripts" / "make_env.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(target, "id", "") == "SECRETS" for target in targets):
                return set(ast.literal_eval(node.value))
    raise AssertionError("scripts/make_env.py has no SECRETS")


def config_map(project: Path) -> dict[str, str]:
    (config,) = objects(project, "ConfigMap")
    data: dict[str, str] = config["data"]
    return data


def containers(project: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(owning object, container) of every Deployment and Job."""
    return [
        (owner, container)
        for owner in objects(project)
        if owner["kind"] in {"Deployment", "Job"}
        for container in owner["spec"]["template"]["spec"]["containers"]
    ]


def environment(project: Path, container: dict[str, Any]) -> set[str]:
    """The variables a container sees: the ConfigMap's, then its env entries, each of whose
    $(VAR) references must name one defined before it (Kubernetes leaves others unexpanded)."""
    defined = set()
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == config_map_name(project), source
        defined |= set(config_map(project))
    for variable in container.get("env", []):
        for reference in VARIABLE_REFERENCE.findall(variable.get("value", "")):
            assert reference in defined, f"{variable['name']} refers to {reference}, not defined before it"
        defined.add(variable["name"])
    return defined


def config_map_name(project: Path) -> str:
    (config,) = objects(project, "ConfigMap")
    name: str = config["metadata"]["name"]
    return name


def check_pods_are_locked_down(project: Path) -> None:
    """Non-root (the Dockerfile's uid), no privilege, read-only root, writable emptyDirs only,
    requests and limits, and Deployments that restart a stopped process whatever its exit code."""
    dockerfile = (project / "Dockerfile").read_text()
    (user,) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    claims = objects(project, "PersistentVolumeClaim")
    for owner, container in containers(project):
        pod = owner["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (str(pod["securityContext"]["runAsUser"]), str(pod["securityContext"]["runAsGroup"])) == user
        assert pod["restartPolicy"] == ("Always" if owner["kind"] == "Deployment" else "OnFailure")
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        assert mounts["tmp"] == "/tmp"
        assert {volume["name"] for volume in pod["volumes"]} == set(mounts)
        for volume in pod["volumes"]:
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            assert "emptyDir" in volume or claim in {item["metadata"]["name"] for item in claims}, volume
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        assert container["image"] == project_slug(project)


def project_slug(project: Path) -> str:
    slug: str = yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]
    return slug


def check_secrets(project: Path) -> None:
    """Secrets by reference only: the keys the manifests require are those `make env` generates;
    the object store's key pair alone is optional (without it, the pod's own cloud identity)."""
    assert not objects(project, "Secret"), "a Secret object would hold values"
    required, optional = set(), set()
    for _, container in containers(project):
        for variable in container.get("env", []):
            if "valueFrom" in variable:
                reference = variable["valueFrom"]["secretKeyRef"]
                assert reference["name"] == f"{project_slug(project)}-secrets"
                assert reference["key"] == variable["name"]
                (optional if reference.get("optional") else required).add(reference["key"])
    assert required == make_env_secrets(project)
    assert optional <= STORE_SECRETS, optional
    assert not set(config_map(project)) & (make_env_secrets(project) | STORE_SECRETS)


def check_kustomization(project: Path) -> None:
    kustomization = yaml.safe_load((project / "deploy" / "kubernetes" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(manifests(project))
    assert [image["name"] for image in kustomization["images"]] == [project_slug(project)]

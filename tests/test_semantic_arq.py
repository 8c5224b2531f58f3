"""ARQ's part of the semantic layer: workers, the jobs they register, and blocking calls."""

from __future__ import annotations

import ast

from jobs_lint.semantic import blocking
from jobs_lint.semantic.arq.project import ArqProject
from jobs_lint.semantic.arq.project import project as arq_project
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.values import UNKNOWN


def models(modules: dict[str, str]) -> dict[str, ModuleModel]:
    """Every module's model, built against the index of all of them."""
    trees = {name: ast.parse(code) for name, code in modules.items()}
    facts = [
        ModuleModel(tree, f"{name}.py", name, False, ProjectIndex.collecting()).facts() for name, tree in trees.items()
    ]
    index = ProjectIndex(facts)
    return {name: ModuleModel(tree, f"{name}.py", name, False, index) for name, tree in trees.items()}


def project(modules: dict[str, str]) -> ArqProject:
    return arq_project(next(iter(models(modules).values())).index)


def test_registrations_and_their_tries() -> None:
    arq = project(
        {
            "proj.worker": "from arq import cron, func\nfrom proj.jobs import send, report, cleanup\n\n"
            "class WorkerSettings:\n"
            "    functions = [send, func(report, max_tries=2)]\n"
            "    cron_jobs = [cron(cleanup, hour=3)]\n"
            "    max_tries = 3\n",
        }
    )
    tries = {name: [job.max_tries for job in arq.jobs_for("proj.jobs", name)] for name in ("send", "report", "cleanup")}
    assert tries == {"send": [3], "report": [2], "cleanup": [1]}
    assert arq.jobs_for("proj.jobs", "other") == []


def test_job_lists_from_other_modules_and_import_strings() -> None:
    arq = project(
        {
            "proj.registry": "from arq import func\nfrom proj.jobs import send\n\n"
            "JOBS = [send, func('proj.mail.welcome', name='welcome')]\n",
            "proj.worker": "from arq.worker import Worker\nfrom proj.registry import JOBS\n\n"
            "worker = Worker(functions=JOBS)\n",
        }
    )
    assert [job.worker.name for job in arq.jobs_for("proj.jobs", "send")] == ["Worker()"]
    assert [job.ref.via for job in arq.jobs_for("proj.mail", "welcome")] == ["func"]


def test_reexported_and_namespace_package_jobs() -> None:
    arq = project({"w": "from src.jobs import send\n\nclass WorkerSettings:\n    functions = [send]\n"})
    assert arq.jobs_for("src.jobs.mail", "send")  # re-exported by the package
    assert arq.jobs_for("jobs", "send")  # `src/` without `__init__.py`
    assert not arq.jobs_for("other", "send")


def test_worker_keywords_given_with_the_settings_class_win() -> None:
    module = models(
        {
            "w": "import json\nfrom arq import run_worker\n\nasync def work(ctx):\n    ...\n\n"
            "class WorkerSettings:\n    functions = [work]\n\n"
            "run_worker(WorkerSettings, job_serializer=json.dumps, **extra)\n"
        }
    )["w"].arq
    (config,) = module.workers
    assert "job_serializer" in config.fields and config.opaque
    assert module.worker_info(config).serializer == "json.dumps"
    assert module.worker_info(config).max_tries is UNKNOWN


def test_settings_classes_need_arq_or_the_name() -> None:
    found = models(
        {
            "m": "from typing import Protocol\n\n"
            "class Plugins:\n    functions = [len]\n\n"
            "class WorkerSettingsBase(Protocol):\n    functions: list = []\n\n"
            "class WorkerSettings:\n    functions = [len]\n"
        }
    )["m"].arq.workers
    assert [config.name for config in found] == ["m.WorkerSettings"]


def test_exception_classes_do_not_block() -> None:
    assert blocking.blocking_call("requests.get") is not None
    assert blocking.blocking_call("requests.exceptions.HTTPError") is None
    assert blocking.blocking_call("requests.HTTPError") is None
    assert blocking.blocking_call("psycopg2.sql.SQL") is None


def test_settings_dict_given_to_run_worker() -> None:
    arq = project(
        {
            "proj.worker": "from arq import run_worker\nfrom proj.jobs import send\n\n"
            "settings = dict(functions=(send,), max_tries=4)\n\n"
            "def main():\n    run_worker(settings, job_serializer=None)\n",
        }
    )
    assert [job.max_tries for job in arq.jobs_for("proj.jobs", "send")] == [4]
    (worker,) = arq.workers
    assert worker.name == "settings"


def test_boto3_requests_are_calls_on_clients_and_resources() -> None:
    (model,) = models(
        {
            "proj.store": "import boto3\nfrom boto3.s3.transfer import TransferConfig\n\n"
            "S3 = boto3.client('s3')\n\n"
            "def save(path):\n"
            "    config = TransferConfig(use_threads=False)\n"
            "    S3.upload_file(path, 'b', path, Config=config)\n"
            "    url = S3.generate_presigned_url('get_object')\n"
            "    bucket = boto3.session.Session().resource('s3').Bucket('b')\n"
            "    bucket.put_object(Key=path, Body=b'')\n",
        }
    ).values()
    function = model.tree.body[-1]
    calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
    scope = model.scope_of(function)
    requests = sorted(ast.unparse(c.func) for c in calls if blocking.aws_request(c, model, scope))
    # Making a resource from a session resolves credentials, as `boto3.client` does.
    assert requests == ["S3.upload_file", "boto3.session.Session().resource", "bucket.put_object"]
    assert blocking.blocking_call("boto3.s3.transfer.TransferConfig") is None
    assert blocking.blocking_call("boto3.session.Session") is None
    assert blocking.blocking_call("boto3.client") is not None


def test_jobs_a_project_decorator_registers_in_the_workers_list() -> None:
    arq = project(
        {
            "proj.worker": "from proj.registry import JOBS\n\n"
            "class Main:\n    functions = JOBS\n    redis_settings = None\n",
            "proj.registry": "JOBS = []\n\ndef job(f):\n    JOBS.append(f)\n    return f\n\n"
            "def timed(f):\n    return f\n",
            "proj.jobs": "from proj.registry import job, timed\n\n"
            "@job\nasync def ping(ctx):\n    pass\n\n@timed\nasync def pong(ctx):\n    pass\n",
        }
    )
    assert [job.worker.name for job in arq.jobs_for("proj.jobs", "ping")] == ["proj.worker.Main"]
    assert arq.jobs_for("proj.jobs", "pong") == []


def test_a_class_with_functions_alone_is_not_a_worker_without_arq() -> None:
    arq = project({"proj.plugins": "class Plugin:\n    functions = [len]\n"})
    assert arq.workers == []

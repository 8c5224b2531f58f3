"""`copier update` from an older release keeps the project's work and brings the template's.

Each test builds a template repository with two releases: OLDER, a commit of the working tree
changed the way an older release differed, and TAG, the working tree itself. A project rendered
from OLDER (by absolute path) and committed gets user edits, is committed again, and is updated
through the real `copier` command, as a user would.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from tests.template.rendering import (
    ROOT,
    TAG,
    assert_static_checks_pass,
    assert_suite_passes,
    build_venv,
    copy_working_tree,
    git,
    run,
    two_releases,
)

OLDER = "v0.1.0"
# Tool variants whose update is tested; each needs a row in USER_EDITS.
UPDATE_TOOLS = ["celery", "temporal", "arq"]
MARKERS = ("<<<<<<< before updating", ">>>>>>> after updating")
UPDATE_SECTION = "\n## Updating from the template\n"
# Where every tool's README gets that section from.
README_UPDATING = "template/shared/partials/README-updating.md.jinja"
COPIER = str(Path(sys.executable).parent / "copier")


@dataclass(frozen=True)
class ToolEdits:
    """Where a tool's project differs: paths relative to the project, `{package}` filled in."""

    task_module: str  # a module the user owns (in _skip_if_exists), with its template source
    task_module_source: str
    new_task: str  # appended to it by the user
    setting_file: str
    setting: tuple[str, str]  # a line the user changes, and what to
    # A template change between the releases, in a setting jobs-lint checks:
    # (template source, a line the older release lacks, the rendered file that shows it).
    template_change: tuple[str, str, str]


CELERY_PACKAGE = "template/celery/src/{{ package_name }}"
TEMPORAL_PACKAGE = "template/temporal/src/{{ package_name }}"
ARQ_PACKAGE = "template/arq/src/{{ package_name }}"
USER_EDITS = {
    "celery": ToolEdits(
        task_module="src/{package}/tasks/billing.py",
        task_module_source=f"{CELERY_PACKAGE}/tasks/billing.py.jinja",
        new_task='''

@app.task(bind=True, base=ServiceTask, name="billing.refund")
def refund(self: ServiceTask, order_id: str) -> dict[str, Any]:
    """Queue the refund of `order_id` in the outbox, once."""

    def send() -> dict[str, Any]:
        return {"order_id": order_id, "outbox_position": outbox.append("refunds", {"order_id": order_id})}

    outcome, _ = run_once(f"refund:{order_id}", send)
    return dict(outcome)
''',
        setting_file="src/{package}/settings.py",
        setting=(
            "    worker_max_tasks_per_child: int = Field(default=1000, gt=0)\n",
            "    worker_max_tasks_per_child: int = Field(default=200, gt=0)\n",
        ),
        template_change=(
            f"{CELERY_PACKAGE}/celery_config.py.jinja",
            '        "result_accept_content": ["json"],\n',
            "src/{package}/celery_config.py",
        ),
    ),
    # activities.py is the module the user owns; the release's change is in workflows.py, which
    # calls an activity of that module with a heartbeat timeout (JL404 checks the pair).
    "temporal": ToolEdits(
        task_module="src/{package}/activities.py",
        task_module_source=f"{TEMPORAL_PACKAGE}/activities.py",
        new_task='''

@activity.defn(name="billing.notify_customer")
async def notify_customer(order_id: str, message: str) -> str:
    """Tell the customer how the order is going (a log line here: call your mailer instead)."""
    activity.logger.info("order %s: %s", order_id, message)
    return f"{order_id}: {message}"
''',
        setting_file="src/{package}/settings.py",
        setting=(
            "    graceful_shutdown_seconds: float = Field(default=30.0, ge=0)\n",
            "    graceful_shutdown_seconds: float = Field(default=60.0, ge=0)\n",
        ),
        template_change=(
            f"{TEMPORAL_PACKAGE}/workflows.py.jinja",
            "            heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),\n",
            "src/{package}/workflows.py",
        ),
    ),
    # The older release's workers left max_tries to ARQ's default (5) while `job()` retried up to
    # MAX_TRIES; the release sets it from MAX_TRIES (JL303 reads a worker's max_tries), whose
    # default the user lowers meanwhile.
    "arq": ToolEdits(
        task_module="src/{package}/jobs/billing.py",
        task_module_source=f"{ARQ_PACKAGE}/jobs/billing.py",
        new_task='''

@job("billing.refund")
async def refund(ctx: dict[str, Any], order_id: str) -> dict[str, Any]:
    """Queue the refund of `order_id` in the outbox, once."""
    position, _ = await outbox.append_once(ctx["redis"], "refunds", {"order_id": order_id}, f"refund:{order_id}")
    return {"order_id": order_id, "outbox_position": position}
''',
        setting_file="src/{package}/settings.py",
        setting=(
            "    max_tries: int = Field(default=5, ge=1)\n",
            "    max_tries: int = Field(default=3, ge=1)\n",
        ),
        template_change=(
            f"{ARQ_PACKAGE}/worker.py.jinja",
            "        max_tries = settings.max_tries\n",
            "src/{package}/worker.py",
        ),
    ),
}
PACKAGE = "jobs_service"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def older_release(tool: str) -> Callable[[Path], None]:
    """The working tree as the older release had it: no update section in the README, the
    template change not made yet, and a different first line in the user's task module."""
    edits = USER_EDITS[tool]

    def make_older(template: Path) -> None:
        readme = template / README_UPDATING
        text = readme.read_text()
        readme.write_text(text[: text.index(UPDATE_SECTION) + 1])
        source, line, _ = edits.template_change
        edit(template / source, line, "")
        module = template / edits.task_module_source
        module.write_text("# Sample tasks: replace them with yours.\n" + module.read_text())

    return make_older


def copier(project: Path, *args: str) -> tuple[int, str]:
    result = run(project, COPIER, *args, timeout=300)
    return result.returncode, result.stdout + result.stderr


def render_older(template: Path, project: Path, tool: str) -> Path:
    code, output = copier(
        template.parent, "copy", "--defaults", "--vcs-ref", OLDER, "-d", f"tool={tool}", str(template), str(project)
    )
    assert code == 0, output
    git(project, "init", "-q", "-b", "main")
    commit(project, "Render the service")
    return project


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def conflicts(project: Path) -> list[str]:
    found = run(project, "git", "grep", "--untracked", "-l", "-E", f"^({MARKERS[0]}|{MARKERS[1]})$")
    return found.stdout.split()


def answers(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.slow
@pytest.mark.parametrize("tool", UPDATE_TOOLS)
def test_update_keeps_user_edits_and_brings_the_release(tmp_path: Path, tool: str) -> None:
    edits = USER_EDITS[tool]
    template = two_releases(tmp_path / "template", OLDER, older_release(tool))
    project = render_older(template, tmp_path / "service", tool)
    assert answers(project)["_commit"] == OLDER and answers(project)["_src_path"] == str(template)

    task_module = project / edits.task_module.format(package=PACKAGE)
    task_module.write_text(task_module.read_text() + edits.new_task)
    edit(project / edits.setting_file.format(package=PACKAGE), *edits.setting)
    edit(project / "README.md", "# Jobs Service\n", "# Jobs Service (billing team)\n")
    commit(project, "Refunds, fewer tasks per child, our title")
    owned = task_module.read_text()

    assert copier(project, "check-update", "--quiet")[0] == 2
    code, output = copier(project, "update", "--defaults", "--trust")
    assert code == 0, output
    assert conflicts(project) == [], output
    assert copier(project, "check-update", "--quiet")[0] == 0

    # The user's work is still there; the module the user owns is exactly as committed.
    assert task_module.read_text() == owned
    assert edits.setting[1] in (project / edits.setting_file.format(package=PACKAGE)).read_text()
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Jobs Service (billing team)\n")
    # The release's changes arrived, and the answers point at it. The update section, last in
    # the README, names the module the user owns.
    assert UPDATE_SECTION in readme and "\n## " not in readme.partition(UPDATE_SECTION)[2]
    assert f"`{edits.task_module.format(package=PACKAGE)}`" in readme.partition(UPDATE_SECTION)[2]
    _, line, rendered = edits.template_change
    assert line in (project / rendered.format(package=PACKAGE)).read_text()
    assert answers(project)["_commit"] == TAG
    # The updated project passes its checks (jobs-lint on the changed setting) and its tests,
    # all but the worker-killing ones, which test_matrix runs on fresh renders of this release.
    bin_dir = build_venv(project)
    assert_static_checks_pass(project, bin_dir)
    assert_suite_passes(project, bin_dir, "-m", "not slow")


@pytest.mark.slow
@pytest.mark.parametrize("tool", UPDATE_TOOLS)
def test_conflicting_edit_leaves_markers_that_git_reports_and_blocks_updates(tmp_path: Path, tool: str) -> None:
    template = two_releases(tmp_path / "template", OLDER, older_release(tool))
    project = render_older(template, tmp_path / "service", tool)
    # The release appends a section to the README; so does the user.
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## On call\n\nPage the billing team.\n")
    commit(project, "On-call notes")

    code, output = copier(project, "update", "--defaults", "--trust")
    assert code == 0, output  # Copier exits 0 with conflicts left in the tree
    assert conflicts(project) == ["README.md"]
    text = readme.read_text()
    assert all(marker in text for marker in MARKERS) and "Page the billing team." in text
    assert "README.md" in run(project, "git", "diff", "--name-only", "--diff-filter=U").stdout
    refused = run(project, "git", "commit", "-q", "-m", "update")
    assert refused.returncode != 0 and "unmerged" in refused.stderr.lower()
    # Nor does Copier update a working tree with uncommitted changes, these included.
    code, output = copier(project, "update", "--defaults", "--trust")
    assert code != 0 and "Traceback" not in output
    assert "Destination repository is dirty" in output


@pytest.mark.slow
def test_a_project_rendered_from_a_plain_directory_is_warned_and_not_updated(tmp_path: Path) -> None:
    template = copy_working_tree(tmp_path / "template")
    project = tmp_path / "service"
    code, output = copier(tmp_path, "copy", "--defaults", str(template), str(project))
    assert code == 0, output
    assert "is not a git repository with release tags" in output
    git(project, "init", "-q", "-b", "main")
    commit(project, "Render the service")
    code, output = copier(project, "update", "--defaults", "--trust")
    assert code != 0 and "Traceback" not in output
    assert "cannot obtain old template references" in output


# The v0.2.0 migration: monitoring/depth.py became monitoring/queue_depth.py.
MONITORING = f"{CELERY_PACKAGE}/monitoring"


def before_queue_depth_rename(template: Path) -> None:
    monitoring = template / MONITORING
    (monitoring / "queue_depth.py.jinja").rename(monitoring / "depth.py.jinja")
    for importer in ("health.py.jinja", "{% if metrics %}worker_metrics.py{% endif %}.jinja"):
        edit(monitoring / importer, "from .queue_depth import", "from .depth import")


@pytest.mark.slow
def test_migration_carries_edits_of_depth_py_to_queue_depth_py(tmp_path: Path) -> None:
    template = two_releases(tmp_path / "template", OLDER, before_queue_depth_rename)
    project = render_older(template, tmp_path / "service", "celery")
    old = project / "src" / PACKAGE / "monitoring" / "depth.py"
    edit(old, "from celery import Celery\n", "from celery import Celery\n\nSAMPLE_EVERY_SECONDS = 15\n")
    commit(project, "Sample queue depths every 15 s")

    code, output = copier(project, "update", "--defaults")
    assert code == 4 and "--trust" in output  # migrations run only when trusted
    code, output = copier(project, "update", "--defaults", "--trust")
    assert code == 0, output
    assert "depth.py is now" in output and "merged into it cleanly" in output
    new = project / "src" / PACKAGE / "monitoring" / "queue_depth.py"
    assert not old.exists() and "SAMPLE_EVERY_SECONDS = 15\n" in new.read_text()
    assert "def queue_depths(" in new.read_text() and conflicts(project) == []
    assert "from .queue_depth import" in (project / "src" / PACKAGE / "monitoring" / "health.py").read_text()


# The v0.3.0 migration: ARQ queues lost priority and prefetch, which older releases accepted.
ARQ_REFUSAL = "          {%- elif tool == 'arq' and ('priority' in q or 'prefetch' in q) -%}\n"
OLDER_ARQ_QUEUES = [
    {"name": "urgent", "priority": 9, "prefetch": 1, "concurrency": 3},
    {"name": "default", "priority": 5, "prefetch": 4, "concurrency": 2},
    {"name": "reports", "priority": 2, "prefetch": 8, "concurrency": 1},
]


def before_arq_queue_keys_refused(template: Path) -> None:
    config = template / "copier.yml"
    text = config.read_text()
    start = text.index(ARQ_REFUSAL)
    end = text.index("          {%- elif", start + len(ARQ_REFUSAL))
    config.write_text(text[:start] + text[end:])


@pytest.mark.slow
def test_migration_keeps_arq_queues_that_set_priority_or_prefetch(tmp_path: Path) -> None:
    template = two_releases(tmp_path / "template", OLDER, before_arq_queue_keys_refused)
    project = tmp_path / "service"
    queues = yaml.safe_dump(OLDER_ARQ_QUEUES, default_flow_style=True, sort_keys=False)
    code, output = copier(
        tmp_path, "copy", "--defaults", "--vcs-ref", OLDER, "-d", "tool=arq", "-d", f"queues={queues}",
        str(template), str(project),
    )  # fmt: skip
    assert code == 0, output
    git(project, "init", "-q", "-b", "main")
    commit(project, "Render the service")
    assert answers(project)["queues"] == OLDER_ARQ_QUEUES  # as the older release stored them

    code, output = copier(project, "update", "--defaults", "--trust")
    assert code == 0, output
    assert "removed urgent: priority, prefetch; default: priority, prefetch; reports: priority, prefetch" in output
    kept = [{"name": queue["name"], "concurrency": queue["concurrency"]} for queue in OLDER_ARQ_QUEUES]
    assert answers(project)["queues"] == kept and answers(project)["_commit"] == TAG
    assert conflicts(project) == []
    # The project is what this release renders from the kept queues, file for file.
    fresh = tmp_path / "fresh"
    code, output = copier(
        tmp_path, "copy", "--defaults", "--vcs-ref", TAG, "-d", "tool=arq",
        "-d", f"queues={yaml.safe_dump(kept, default_flow_style=True)}", str(template), str(fresh),
    )  # fmt: skip
    assert code == 0, output
    difference = run(tmp_path, "diff", "-r", "-x", ".git", str(fresh), str(project))
    assert difference.returncode == 0, difference.stdout
    queues_module = (project / "src" / PACKAGE / "queues.py").read_text()
    assert all(f'QueueSpec(name="{q["name"]}", concurrency={q["concurrency"]})' in queues_module for q in kept)


# The v0.4.0 migration: package names and slugs of at most 40 characters, which older releases
# did not limit.
LENGTH_REFUSALS = ("{%- elif project_slug | length > 40 %}", "{%- elif package_name | length > 40 %}")
LONG_PACKAGE = "billing_" + "x" * 37


def before_names_were_limited(template: Path) -> None:
    config = template / "copier.yml"
    text = config.read_text()
    for refusal in LENGTH_REFUSALS:
        assert refusal in text
        text = text.replace(refusal, "{%- elif false %}")
    config.write_text(text)


@pytest.mark.slow
def test_update_stops_before_renaming_a_package_whose_name_is_now_refused(tmp_path: Path) -> None:
    template = two_releases(tmp_path / "template", OLDER, before_names_were_limited)
    project = tmp_path / "service"
    code, output = copier(
        tmp_path, "copy", "--defaults", "--vcs-ref", OLDER, "-d", f"package_name={LONG_PACKAGE}",
        str(template), str(project),
    )  # fmt: skip
    assert code == 0, output
    git(project, "init", "-q", "-b", "main")
    commit(project, "Render the service")

    code, output = copier(project, "update", "--defaults", "--trust")
    assert code != 0, output
    assert f"package_name '{LONG_PACKAGE}' has 45: the update would rename the package" in output, output
    assert "Traceback" not in output, output
    # Nothing moved: the package, its files and the saved answers are as they were.
    assert git(project, "status", "--porcelain") == ""
    assert answers(project)["package_name"] == LONG_PACKAGE and answers(project)["_commit"] == OLDER
    assert (project / "src" / LONG_PACKAGE / "__init__.py").exists()


def test_name_length_migration_passes_names_within_the_limit(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(ANSWERS_HEADER + yaml.safe_dump({"package_name": "p" * 40, "project_slug": "s" * 40}))
    script = ROOT / "template-support" / "check_name_lengths.py"
    result = run(tmp_path, sys.executable, str(script), answers_file.name)
    assert (result.returncode, result.stderr) == (0, "")


ANSWERS_HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"


def migrate_answers(tmp_path: Path, stored: dict[str, Any]) -> tuple[int, str, str]:
    """Run the v0.3.0 migration script on an answers file holding `stored`."""
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(ANSWERS_HEADER + yaml.safe_dump(stored, sort_keys=False))
    script = ROOT / "template-support" / "migrate_arq_queue_keys.py"
    result = run(tmp_path, sys.executable, str(script), answers_file.name)
    return result.returncode, result.stderr, answers_file.read_text()


def test_arq_queue_migration_drops_only_priority_and_prefetch(tmp_path: Path) -> None:
    stored = {"_commit": OLDER, "project_name": "Jobs Service", "tool": "arq", "queues": OLDER_ARQ_QUEUES}
    code, err, text = migrate_answers(tmp_path, stored)
    assert code == 0 and "removed urgent: priority, prefetch;" in err
    kept = [{"name": queue["name"], "concurrency": queue["concurrency"]} for queue in OLDER_ARQ_QUEUES]
    assert text.startswith(ANSWERS_HEADER) and yaml.safe_load(text) == {**stored, "queues": kept}


def test_arq_queue_migration_leaves_other_tools_byte_for_byte(tmp_path: Path) -> None:
    stored = {"_commit": OLDER, "tool": "celery", "queues": OLDER_ARQ_QUEUES}
    code, err, text = migrate_answers(tmp_path, stored)
    assert (code, err) == (0, "") and text == ANSWERS_HEADER + yaml.safe_dump(stored, sort_keys=False)


def test_arq_queue_migration_refuses_an_unreadable_answers_file(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text("tool: [arq\n")
    script = ROOT / "template-support" / "migrate_arq_queue_keys.py"
    result = run(tmp_path, sys.executable, str(script), ".copier-answers.yml")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(".copier-answers.yml: cannot read the answers:")
    assert result.stderr.count("\n") == 1


def test_every_migration_is_for_a_release_up_to_this_one() -> None:
    migrations = template_config()["_migrations"]
    assert migrations and all(Version(migration["version"]) <= Version(TAG) for migration in migrations)


def test_every_question_has_a_default() -> None:
    """An update with --defaults answers a question added since the last render by its default,
    which must reproduce what the template did before the question existed."""
    questions = {name: spec for name, spec in template_config().items() if not name.startswith("_")}
    assert [name for name, spec in questions.items() if "default" not in spec] == []


class ConfigLoader(yaml.SafeLoader):
    """Reads copier.yml, leaving out the files it includes."""


ConfigLoader.add_constructor("!include", lambda loader, node: None)


def template_config() -> dict[str, Any]:
    loaded = yaml.load((ROOT / "copier.yml").read_text(), Loader=ConfigLoader)
    assert isinstance(loaded, dict)
    return loaded

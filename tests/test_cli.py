"""The command line as users run it: findings, formats, fixes, suppressions, settings, cache."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9, ]+)")


def expected_findings(root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = _EXPECT.search(line)
            if match:
                for code in match.group("codes").replace(",", " ").split():
                    found.add((path.relative_to(root).as_posix(), number, code))
    return found


def reported(output: str, root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for entry in json.loads(output):
        path = Path(entry["filename"]).relative_to(root).as_posix()
        found.add((path, entry["location"]["row"], entry["code"]))
    return found


def test_fixtures_give_the_expected_findings(jobs_lint) -> None:
    result = jobs_lint("tests/fixtures", "--no-cache", cwd=ROOT)
    assert result.code == 1
    assert "tests/fixtures/proj/tasks.py:16:12: JL102 " in result.out
    result = jobs_lint("tests/fixtures", "--no-cache", "--output-format", "json", cwd=ROOT)
    assert reported(result.out, FIXTURES) == expected_findings(FIXTURES)


def test_text_output_has_snippet_and_summary(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", cwd=project)
    assert result.code == 1
    assert "proj/celery.py:10:23: JL101 [*] `result_serializer` is pickle" in result.out
    assert '10 |     result_serializer="pickle",' in result.out
    assert "^^^^^^^^ JL101" in result.out
    assert "Found 5 errors." in result.out
    assert "3 fixable with the `--fix` option." in result.out
    assert "\x1b[" not in result.out  # no colour when not on a terminal


def test_colour_when_forced(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", cwd=project, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[1m\x1b[31mJL101" in result.out


def test_sarif_is_valid_sarif_2_1_0(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "sarif", cwd=project)
    assert result.code == 1
    document = json.loads(result.out)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run = document["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["JL101"]["shortDescription"]["text"]
    assert rules["JL101"]["fullDescription"]["text"]
    assert "## Why is this bad?" in rules["JL101"]["help"]["text"]
    results = run["results"]
    assert len(results) == 5
    for entry in results:
        location = entry["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        region = location["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)
        assert entry["partialFingerprints"]["primaryLocationLineHash"]
        assert rules[entry["ruleId"]]
    uris = {entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for entry in results}
    assert "proj/celery.py" in uris


def test_json_output(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "json", cwd=project)
    entries = json.loads(result.out)
    pickle = next(e for e in entries if e["filename"].endswith("celery.py"))
    assert pickle["code"] == "JL101"
    assert pickle["name"] == "pickle-serializer"
    assert pickle["location"] == {"row": 10, "column": 23}
    assert pickle["fix"]["applicability"] == "safe"
    assert pickle["fix"]["edits"][0]["content"] == '"json"'


def test_github_annotations(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "github", cwd=project)
    lines = result.out.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("::error title=jobs-lint (JL101),file=proj/celery.py,line=10,col=23,")
    assert "::proj/celery.py:10:23: JL101 " in lines[0]


def test_junit_report(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "junit", cwd=project)
    root = ET.fromstring(result.out.split("\n", 1)[1])
    assert root.get("failures") == "5"
    cases = root.findall(".//testcase")
    assert {case.get("name") for case in cases} == {"jobs-lint.JL101", "jobs-lint.JL102"}


def test_concise_and_quiet(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "concise", "--quiet", cwd=project)
    assert result.code == 1
    assert len(result.out.strip().splitlines()) == 5
    assert "Found" not in result.out


def test_statistics(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--statistics", cwd=project)
    assert result.code == 1
    assert re.search(r"^3\tJL101\t\[\*\] pickle-serializer$", result.out, re.M)
    assert re.search(r"^2\tJL102\t {4}result-wait-in-task$", result.out, re.M)


def test_exit_zero(jobs_lint, project: Path) -> None:
    assert jobs_lint(".", "--exit-zero", cwd=project).code == 0


def test_clean_tree_passes(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("from celery import shared_task\n\n@shared_task\ndef ok():\n    return 1\n")
    result = jobs_lint(".", cwd=tmp_path)
    assert (result.code, result.out.strip()) == (0, "All checks passed!")


def test_fix_rewrites_and_reports_what_remains(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--fix", "--show-fixes", cwd=project)
    assert result.code == 1  # the two JL102 findings have no fix
    assert "Found 5 errors (3 fixed, 2 remaining)." in result.out
    assert "Fixed 3 errors:" in result.err
    assert "1 x JL101 (pickle-serializer)" in result.err
    assert 'result_serializer="json",' in (project / "proj" / "celery.py").read_text()
    assert 'CELERY_ACCEPT_CONTENT = ["json"]' in (project / "proj" / "settings.py").read_text()
    again = jobs_lint(".", "--select", "JL101", cwd=project)
    assert (again.code, again.out.strip()) == (0, "All checks passed!")


def test_diff_shows_fixes_and_changes_nothing(jobs_lint, project: Path) -> None:
    before = (project / "proj" / "celery.py").read_text()
    result = jobs_lint(".", "--diff", cwd=project)
    assert result.code == 1
    assert '-    result_serializer="pickle",  # expect: JL101' in result.out
    assert '+    result_serializer="json",  # expect: JL101' in result.out
    assert "Would fix 3 errors." in result.err
    assert (project / "proj" / "celery.py").read_text() == before


def test_add_noqa_adopts_a_legacy_tree(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--add-noqa", cwd=project)
    assert result.code == 0
    assert "Added 5 noqa directives." in result.err
    text = (project / "proj" / "tasks.py").read_text()
    assert "return pages.get(timeout=30)  # expect: JL102  # noqa: JL102" in text
    again = jobs_lint(".", cwd=project)
    assert (again.code, again.out.strip()) == (0, "All checks passed!")


def test_noqa_on_first_line_of_statement_and_on_decorator(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from celery import Celery, shared_task\n\n"
        "app = Celery(  # noqa: JL101\n    task_serializer='pickle',\n)\n\n"
        "@shared_task(  # noqa: JL101\n    serializer='pickle',\n)\ndef render(report):\n    return report\n"
    )
    result = jobs_lint(".", "--ignore", "JL105,JL106", cwd=tmp_path)  # this toy app has no late ack or limit
    assert (result.code, result.out.strip()) == (0, "All checks passed!")


def test_skip_file(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "# jobs-lint: skip-file\nfrom celery import Celery\napp = Celery(task_serializer='pickle')\n"
    )
    assert jobs_lint(".", cwd=tmp_path).code == 0


def test_select_ignore_and_per_file_ignores(jobs_lint, project: Path) -> None:
    only = jobs_lint(".", "--select", "JL102", "--output-format", "json", cwd=project)
    assert {e["code"] for e in json.loads(only.out)} == {"JL102"}
    ignored = jobs_lint(".", "--ignore", "JL1", "--extend-select", "JL102", "--output-format", "json", cwd=project)
    assert {e["code"] for e in json.loads(ignored.out)} == {"JL102"}  # the more specific selector wins
    per_file = jobs_lint(".", "--per-file-ignores", "proj/tasks.py:JL102", "--output-format", "json", cwd=project)
    assert {e["code"] for e in json.loads(per_file.out)} == {"JL101"}


def test_settings_from_pyproject(jobs_lint, project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.jobs-lint]\nignore = ['JL102']\n[tool.jobs-lint.per-file-ignores]\n'proj/settings.py' = ['JL101']\n"
    )
    result = jobs_lint(".", "--output-format", "json", cwd=project)
    assert {(Path(e["filename"]).name, e["code"]) for e in json.loads(result.out)} == {
        ("celery.py", "JL101"),
        ("reports.py", "JL101"),
    }
    # The settings are found from a subdirectory too, and flags override them.
    sub = jobs_lint(".", "--select", "JL102", "--output-format", "json", cwd=project / "proj")
    assert {e["code"] for e in json.loads(sub.out)} == {"JL102"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("selct = ['JL1']", "Unknown key `selct` in [tool.jobs-lint]"),
        ("select = ['JL999']", "Unknown rule selector `JL999`"),
        ("select = 'JL101'", "`select` in"),
        ("output-format = 'xml'", "Unknown output format `xml`"),
        ("select = [", "Invalid TOML in"),
    ],
)
def test_bad_settings_are_refused_in_one_line(jobs_lint, project: Path, table: str, message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.jobs-lint]\n{table}\n")
    result = jobs_lint(".", cwd=project)
    assert result.code == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("jobs-lint: error: ") and message in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["--select", "XYZ"], "Unknown rule selector `XYZ`"),
        (["--output-format", "xml"], "Unknown output format `xml`"),
        (["--per-file-ignores", "JL101"], "--per-file-ignores takes PATTERN:CODES"),
        (["--config", "missing.toml"], "Configuration file not found: missing.toml"),
        (["rule", "JL999"], "Unknown rule `JL999`"),
    ],
)
def test_usage_errors_are_one_line(jobs_lint, project: Path, args: list[str], message: str) -> None:
    result = jobs_lint(*args, cwd=project)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err


def test_version_and_rule_docs(jobs_lint) -> None:
    from jobs_lint import __version__

    assert jobs_lint("--version").out.strip() == f"jobs-lint {__version__}"
    docs = jobs_lint("rule", "JL101").out
    for heading in (
        "# pickle-serializer (JL101)",
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
    ):
        assert heading in docs
    assert jobs_lint("rule", "pickle-serializer").out == docs
    listing = json.loads(jobs_lint("rules", "--output-format", "json").out)
    assert {"JL101", "JL102", "JL010"} <= {rule["code"] for rule in listing}
    assert "JL101 [*]  pickle-serializer" in jobs_lint("rules").out


def test_gitignore_and_excludes(jobs_lint, project: Path) -> None:
    (project / ".gitignore").write_text("proj/reports.py\n")
    codes = lambda *args: {  # noqa: E731
        Path(e["filename"]).name for e in json.loads(jobs_lint(".", "--output-format", "json", *args, cwd=project).out)
    }
    assert "reports.py" not in codes()
    assert "reports.py" in codes("--no-respect-gitignore")
    assert "settings.py" not in codes("--extend-exclude", "settings.py")
    assert codes("--extend-exclude", "proj/t*.py") == {"celery.py", "settings.py"}
    # pre-commit passes excluded files explicitly; --force-exclude still skips them.
    forced = jobs_lint("--force-exclude", "--extend-exclude", "settings.py", "proj/settings.py", cwd=project)
    assert forced.code == 0


def test_cache_is_used_and_follows_cross_module_changes(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text("from celery import Celery\napp = Celery('proj')\n")
    tasks = tmp_path / "proj" / "tasks.py"
    tasks.write_text(
        "from proj.celery import app\n\n@app.task\ndef outer(x):\n    return inner.delay(x).get()\n\n"
        "@app.task\ndef inner(x):\n    return x\n"
    )
    first = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert first.code == 1 and "JL102" in first.out
    assert list((tmp_path / ".jobs_lint_cache").rglob("*.json"))
    assert jobs_lint(".", "--output-format", "concise", cwd=tmp_path).out == first.out
    # `app` stops being a Celery app in another module: `outer` is no longer a task.
    (tmp_path / "proj" / "celery.py").write_text("from huey import RedisHuey\napp = RedisHuey('proj')\n")
    after = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert (after.code, "JL102" in after.out) == (0, False)


def test_pre_commit_hooks_are_declared() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: jobs-lint\n" in text and "- id: jobs-lint-fix\n" in text
    assert "entry: jobs-lint check --force-exclude" in text


def test_cached_walks_see_new_files_and_new_ignores(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "ok.py").write_text("x = 1\n")
    assert jobs_lint(".", cwd=tmp_path).code == 0
    (deep / "new.py").write_text("from celery import Celery\napp = Celery(task_serializer='pickle')\n")
    assert "a/b/new.py:2:30: JL101" in jobs_lint(".", "--output-format", "concise", cwd=tmp_path).out
    (tmp_path / "a" / ".gitignore").write_text("new.py\n")
    assert jobs_lint(".", cwd=tmp_path).code == 0
    (tmp_path / "a" / ".gitignore").write_text("# nothing ignored\n")
    assert jobs_lint(".", cwd=tmp_path).code == 1


def test_a_cached_walk_outlives_new_files_above_the_project_but_not_a_new_ignore(tmp_path: Path) -> None:
    """Above the project only a .gitignore or a .git matter: files made beside it (a temporary
    directory's lot) leave the walk valid; a .gitignore appearing there does not."""
    from jobs_lint.discovery import Filters, discover

    project = tmp_path / "work" / "project"
    project.mkdir(parents=True)
    (project / "tasks.py").write_text("x = 1\n")
    walks: dict = {}
    assert discover([str(project)], Filters(str(project)), walks).walked
    (tmp_path / "work" / "unrelated.txt").write_text("made by another program\n")
    again = discover([str(project)], Filters(str(project)), walks)
    assert (again.walked, again.files) == (False, [str(project / "tasks.py")])
    (tmp_path / "work" / ".gitignore").write_text("tasks.py\n")
    after = discover([str(project)], Filters(str(project)), walks)
    assert (after.walked, after.files) == (True, [])


def test_warm_run_after_a_parallel_cold_run_checks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs_lint import passes, runner
    from jobs_lint.cache import Cache
    from jobs_lint.settings import load

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.jobs-lint]\nselect = ['JL102']\n")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "celery.py").write_text("from celery import Celery\napp = Celery('proj')\n")
    (tmp_path / "other").mkdir()
    for n in range(60):  # enough files for worker processes, of sizes that reorder their answers
        padding = "# padding\n" * ((n * 7) % 40)
        for directory in ("proj", "other"):  # two modules of each name: one must win, always the same
            (tmp_path / directory / f"tasks_{n}.py").write_text(
                f"from proj.celery import app\n{padding}\n@app.task\ndef {directory}{n}(x):\n"
                f"    return {directory}{n}.delay(x).get()\n"
            )
    monkeypatch.chdir(tmp_path)
    settings = load(["."])
    first = runner.run(["."], settings, cache := Cache.open(str(tmp_path / "cache"), settings.cache_key()))
    cache.save()
    assert len(first.diagnostics) == 120

    checked: list[int] = []
    original = runner._Workers.map

    def counting(self: runner._Workers, work: object, items: list[passes.Item], shared: object) -> list[object]:
        if work is passes.check_shard:
            checked.append(len(items))
        return original(self, work, items, shared)  # type: ignore[arg-type]

    monkeypatch.setattr(runner._Workers, "map", counting)
    second = runner.run(["."], settings, Cache.open(str(tmp_path / "cache"), settings.cache_key()))
    assert not any(checked) and second.diagnostics == first.diagnostics

"""The GitHub Action (action.yml): its structure, and its shell steps run as a runner runs them,
with the SARIF they would upload validated against the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
TEXT = (ROOT / "action.yml").read_text()
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in STEPS if s.get("id") == step_id)


def test_action_is_a_composite_with_shells_and_known_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["name"] and ACTION["description"]
    for entry in STEPS:
        assert entry.get("name"), entry
        assert ("run" in entry) != ("uses" in entry), entry
        if "run" in entry:
            assert entry.get("shell") == "bash", entry["name"]
        else:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", entry["uses"]), entry["uses"]
    for name in set(re.findall(r"\binputs\.([\w-]+)", TEXT)):
        assert name in ACTION["inputs"], f"inputs.{name} is used but not declared"
    ids = [entry.get("id") for entry in STEPS]
    for step_id, output in set(re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", TEXT)):
        assert step_id in ids, step_id
        assert f"{output}=" in step(step_id)["run"], f"steps.{step_id}.outputs.{output} is never written"
    for value in ACTION["inputs"].values():
        assert value["description"] and "default" in value


def test_action_installs_at_its_ref_and_uploads_the_sarif_it_writes() -> None:
    assert '"${{ github.action_path }}"' in step("install")["run"]
    check = step("check")["run"]
    assert "--output-format sarif -o jobs-lint.sarif" in check
    upload = next(s for s in STEPS if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    assert any("--output-format github" in s.get("run", "") for s in STEPS)
    # No input is pasted into a script, where it could inject commands.
    for entry in STEPS:
        assert "inputs." not in entry.get("run", ""), entry["name"]


def run_step(entry: dict[str, Any], workspace: Path, temp: Path, outputs: dict[str, dict[str, str]]) -> tuple[int, str]:
    """Run one `run` step as a runner does: expressions evaluated, env set, GITHUB_OUTPUT read back."""

    def evaluate(value: str) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("inputs."):
                return str(ACTION["inputs"][expression.removeprefix("inputs.")]["default"])
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            assert found, f"the test does not evaluate `{expression}`"
            return outputs.get(found.group(1), {}).get(found.group(2), "")

        return _EXPRESSION.sub(one, value)

    output_file = temp / f"output-{entry['id'] if 'id' in entry else len(outputs)}"
    output_file.write_text("")
    env = {
        **os.environ,
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(output_file),
        "NO_COLOR": "1",
        **{key: evaluate(str(value)) for key, value in entry.get("env", {}).items()},
    }
    completed = subprocess.run(
        ["bash", "-e", "-c", evaluate(entry["run"])], cwd=workspace, env=env, capture_output=True, text=True
    )
    outputs[entry.get("id", "")] = dict(
        line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
    )
    return completed.returncode, completed.stdout


def test_action_steps_write_valid_sarif_and_annotations(project: Path, tmp_path: Path) -> None:
    # The install step's result: jobs-lint in $RUNNER_TEMP/jobs-lint (here, the one under test).
    temp = tmp_path / "runner-temp"
    (temp / "jobs-lint" / "bin").mkdir(parents=True)
    installed = shutil.which("jobs-lint", path=os.path.dirname(sys.executable))
    assert installed is not None
    (temp / "jobs-lint" / "bin" / "jobs-lint").symlink_to(installed)
    outputs: dict[str, dict[str, str]] = {}

    assert run_step(step("check"), project, temp, outputs)[0] == 0  # it records the code and goes on
    assert outputs["check"] == {"exit-code": "1", "sarif-file": "jobs-lint.sarif"}
    document = json.loads((project / "jobs-lint.sarif").read_text())
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    results = document["runs"][0]["results"]
    assert len(results) == 5
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {
        "proj/celery.py",
        "proj/reports.py",
        "proj/settings.py",
        "proj/tasks.py",
    }

    annotate = next(s for s in STEPS if "--output-format github" in s.get("run", ""))
    code, printed = run_step(annotate, project, temp, outputs)
    assert code == 0
    annotations = printed.splitlines()
    assert len(annotations) == 5
    assert annotations[0].startswith("::error title=jobs-lint (JL101),file=proj/celery.py,line=10,col=23,")

    fail = next(s for s in STEPS if s["name"] == "Fail on findings")
    assert run_step(fail, project, temp, outputs)[0] == 1

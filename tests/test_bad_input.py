"""Input jobs-lint cannot read is reported with its own code, and everything else is still checked."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest
from helpers import findings, lint

from jobs_lint.checker import check_source, parse
from jobs_lint.rules import RULES, Rule
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.source import Source

GOOD = "from celery import Celery\n\napp = Celery('proj', task_serializer='pickle')\n"
SYNTAX = "from celery import shared_task\n\n@shared_task\ndef broken(:\n    pass\n"


def codes(result_out: str) -> list[tuple[str, str]]:
    return sorted((Path(e["filename"]).name, e["code"]) for e in json.loads(result_out))


def test_syntax_error(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(SYNTAX)
    (tmp_path / "good.py").write_text(GOOD)
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert result.code == 1
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"broken.py:4:12: JL001 Syntax error (Python {version}): invalid syntax" in result.out
    assert "good.py:3:38: JL101" in result.out


def test_syntax_error_is_silenced_only_where_its_line_says_so(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("from celery import Celery\napp = Celery(  # noqa: JL101\n")
    run = lint([tmp_path], tmp_path)
    assert [d.code for d in run.diagnostics] == ["JL001"]
    (tmp_path / "broken.py").write_text("from celery import Celery\napp = Celery(  # noqa: JL001\n")
    assert lint([tmp_path], tmp_path).diagnostics == []


def test_not_utf8_and_binary(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes("# celery config: café\nx = 'é'\n".encode("latin-1"))
    (tmp_path / "declared.py").write_bytes(
        "# -*- coding: latin-1 -*-\nfrom celery import Celery\napp = Celery(task_serializer='pickle')  # é\n".encode(
            "latin-1"
        )
    )
    (tmp_path / "blob.py").write_bytes(b"celery\x00\x01\x02")
    (tmp_path / "good.py").write_text(GOOD)
    # Project-wide rules (late ack, time limits) would report these one-line apps too.
    result = jobs_lint(".", "--select", "JL101,JL102", "--output-format", "json", cwd=tmp_path)
    assert result.code == 1
    assert codes(result.out) == [
        ("blob.py", "JL002"),
        ("declared.py", "JL101"),  # a declared encoding is honoured
        ("good.py", "JL101"),
        ("latin.py", "JL002"),
    ]
    message = next(e["message"] for e in json.loads(result.out) if e["filename"].endswith("blob.py"))
    assert message == "Binary file: it contains NUL bytes"


def test_binary_file_named_explicitly(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = jobs_lint("image.png", "--output-format", "concise", cwd=tmp_path)
    assert result.code == 1
    assert "image.png:1:1: JL002 Binary file" in result.out


def test_unreadable_paths(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    os.symlink(tmp_path / "gone.py", tmp_path / "dangling.py")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "socket.py"))
    try:
        result = jobs_lint(".", "missing.py", "socket.py", "--output-format", "concise", cwd=tmp_path)
    finally:
        server.close()
    assert result.code == 1
    assert "dangling.py:1:1: JL003 Cannot read dangling.py: broken symbolic link" in result.out
    assert "missing.py:1:1: JL003 Cannot read missing.py: No such file or directory" in result.out
    assert "socket.py:1:1: JL003 Cannot read socket.py: Not a file or directory" in result.out
    assert "good.py:3:38: JL101" in result.out


def test_directory_loop(jobs_lint, tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "inner"
    package.mkdir(parents=True)
    (package / "good.py").write_text(GOOD)
    os.symlink("..", package / "up")  # pkg/inner/up -> pkg
    os.symlink(package, tmp_path / "alias")  # a second way in: not a loop, not walked twice
    result = jobs_lint(".", "--output-format", "concise", cwd=tmp_path)
    assert result.code == 1
    assert "pkg/inner/up:1:1: JL004 Directory loop: pkg/inner/up links back to pkg" in result.out
    assert result.out.count("good.py:3:38: JL101") == 1


class _Exploding(Rule):
    code = "JL999"
    name = "exploding"
    summary = "fails on every call"

    def visit_Call(self, node: object) -> None:
        raise KeyError("boom")


def test_internal_error_is_reported_and_other_rules_go_on() -> None:
    source = Source("app.py", GOOD)
    found = check_source(
        source,
        parse(source),
        "app",
        False,
        ProjectIndex(),
        [_Exploding, RULES["JL101"]],
        frozenset({"JL101"}),
    )
    assert [d.code for d in found] == ["JL101", "JL005"]
    assert found[1].message.startswith("Internal error in JL999: KeyError: 'boom' at visit_Call:")


def test_internal_error_exits_2(jobs_lint, tmp_path: Path) -> None:
    # A rule module that fails, installed the way a plugin would be: on the import path.
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(
        "from jobs_lint.rules import RULES, Rule\n"
        "class Exploding(Rule):\n"
        "    code = 'JL998'\n    name = 'exploding'\n    summary = 'fails'\n"
        "    def visit_Call(self, node):\n        raise KeyError('boom')\n"
        "RULES['JL998'] = Exploding\n"
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "good.py").write_text(GOOD)
    env = {"PYTHONPATH": str(plugin)}
    result = jobs_lint(".", "--output-format", "concise", cwd=project, env=env)
    assert result.code == 2
    assert "good.py:1:1: JL005 Internal error in JL998: KeyError: 'boom'" in result.out
    assert "good.py:3:38: JL101" in result.out
    assert "Traceback" not in result.out + result.err


def test_a_tree_with_every_kind_of_bad_input(jobs_lint, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "good.py").write_text(GOOD)
    (tree / "pkg" / "tasks.py").write_text(
        "from celery import shared_task\n\n@shared_task\ndef a(x):\n    return b.delay(x).get()\n\n"
        "@shared_task\ndef b(x):\n    return x\n"
    )
    (tree / "pkg" / "broken.py").write_text(SYNTAX)
    (tree / "pkg" / "latin.py").write_bytes("# celery: café\n".encode("latin-1"))
    (tree / "pkg" / "blob.py").write_bytes(b"\x00celery")
    os.symlink(tree / "nowhere.py", tree / "pkg" / "dangling.py")
    os.symlink("..", tree / "pkg" / "loop")
    result = jobs_lint(".", "--select", "JL101,JL102", "--output-format", "json", cwd=tree)
    assert result.code == 1
    assert codes(result.out) == [
        ("blob.py", "JL002"),
        ("broken.py", "JL001"),
        ("dangling.py", "JL003"),
        ("good.py", "JL101"),
        ("latin.py", "JL002"),
        ("loop", "JL004"),
        ("tasks.py", "JL102"),
    ]
    assert "Traceback" not in result.err


@pytest.mark.parametrize("depth", [50, 5000])
def test_deep_nesting_does_not_crash(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.py"
    path.write_text("from celery import shared_task\n\nx = " + "(" * depth + "1" + ")" * depth + "\n")
    run = lint([path], tmp_path)
    assert all(d.code in ("JL001",) for d in findings(run, path))

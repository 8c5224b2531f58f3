"""The template's layout (docs/template.md): one plain tree a tool, and the files the tools
share kept once in template/shared, each tool's tree linking to them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.template.rendering import COPIER_CONFIG, ROOT

TEMPLATE = ROOT / "template"
SHARED = TEMPLATE / "shared"
PARTIALS = SHARED / "partials"
TOOLS: list[str] = list(COPIER_CONFIG["tool"]["choices"].values())


CONDITION = re.compile(r"\{% if [^%]+ %\}(.*?)\{% endif %\}")


def plain_name(path: Path) -> Path:
    """The path without the conditions in its names: a tree may render a shared file only for
    some answers (Temporal's token bucket only with shared_rate_limits) while Celery and ARQ
    always render it."""
    return Path(CONDITION.sub(r"\1", str(path)))


def links() -> list[Path]:
    return sorted(path for path in TEMPLATE.rglob("*") if path.is_symlink())


def test_copier_renders_the_tree_of_the_tool_answered() -> None:
    assert COPIER_CONFIG["_subdirectory"] == "template/{{ tool }}"
    assert sorted(path.name for path in TEMPLATE.iterdir()) == sorted([*TOOLS, "shared"])


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tree_holds_the_answers_file_and_no_path_names_a_tool(tool: str) -> None:
    tree = TEMPLATE / tool
    assert (tree / "{{ _copier_conf.answers_file }}.jinja").is_file()
    named = [str(path.relative_to(tree)) for path in tree.rglob("*") if "tool" in path.name]
    assert named == []


@pytest.mark.parametrize("link", links(), ids=lambda link: str(link.relative_to(TEMPLATE)))
def test_a_link_is_relative_and_points_to_the_shared_file_of_its_name(link: Path) -> None:
    target = link.readlink()
    assert not target.is_absolute()
    resolved = link.resolve()
    assert resolved.is_file() and resolved.is_relative_to(SHARED) and not resolved.is_relative_to(PARTIALS)
    tool_tree = TEMPLATE / link.relative_to(TEMPLATE).parts[0]
    assert plain_name(resolved.relative_to(SHARED)) == plain_name(link.relative_to(tool_tree))


def test_every_shared_file_is_linked_from_a_tree_and_every_partial_is_included() -> None:
    linked = {link.resolve() for link in links()}
    shared_files = [path for path in SHARED.rglob("*") if path.is_file() and not path.is_relative_to(PARTIALS)]
    assert [path for path in shared_files if path not in linked] == []
    sources = "\n".join(
        path.read_text() for path in [*TEMPLATE.rglob("*.jinja"), ROOT / "copier.yml"] if path.is_file()
    )
    used = set(re.findall(r"'template/shared/partials/([^']+)'", sources))
    assert sorted(path.name for path in PARTIALS.iterdir()) == sorted(used)

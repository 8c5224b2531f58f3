"""Rule documentation, rendered from each rule's docstring and its first examples."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from jobs_lint.diagnostics import Applicability

if TYPE_CHECKING:
    from jobs_lint.rules.base import Case, Rule

# Where docs/rules.md is published. A rule's URL (JSON `url`, SARIF `helpUri`, the editor's link)
# is its heading's anchor on this page.
RULES_PAGE = "https://github.com/jobs-lint/jobs-lint/blob/main/docs/rules.md"


def anchor(rule: type[Rule]) -> str:
    """The anchor GitHub gives the rule's heading `## name (CODE)` in docs/rules.md."""
    return f"{rule.name}-{rule.code.lower()}"


def rule_url(rule: type[Rule]) -> str:
    return f"{RULES_PAGE}#{anchor(rule)}"


def render(rule: type[Rule]) -> str:
    """Markdown in ruff's shape: What it does / Why is this bad? / Example / Use instead."""
    parts = [f"# {rule.name} ({rule.code})", "", _fix_line(rule), ""]
    parts.append(inspect.cleandoc(rule.__doc__ or "").strip())
    if rule.invalid:
        parts += ["", "## Example", *_code_blocks(rule.invalid[0])]
    use_instead = rule.invalid[0].fixed if rule.invalid and rule.invalid[0].fixed else None
    if use_instead is not None:
        parts += ["", "## Use instead", "```python", use_instead.rstrip(), "```"]
    elif rule.valid:
        parts += ["", "## Use instead", *_code_blocks(rule.valid[0])]
    parts += ["", f"Enabled by default: {'yes' if rule.default else 'no (select it explicitly)'}."]
    return "\n".join(parts).rstrip() + "\n"


def _fix_line(rule: type[Rule]) -> str:
    if rule.fix is None:
        return "Fix: none."
    kind = "safe" if rule.fix is Applicability.SAFE else "unsafe (needs `--unsafe-fixes`)"
    return f"Fix: sometimes available, {kind}."


def _code_blocks(case: Case) -> list[str]:
    blocks = []
    for path, code in case.files.items():
        blocks += [f"`{path}`:", "```python", code.rstrip(), "```"]
    if case.files:
        blocks.append(f"`{case.path}`:")
    blocks += ["```python", case.code.rstrip(), "```"]
    return blocks


def catalogue() -> str:
    """Every rule's docs in one page, with an index: `docs/rules.md` (`make docs`)."""
    from jobs_lint.rules import RULES

    lines = [
        "# Rules",
        "",
        "Generated from the rules' docstrings and examples by `make docs`; do not edit by hand.",
        "",
        "| Code | Name | Fix | Default | Summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in RULES.values():
        fix = rule.fix.value if rule.fix else ""
        summary = rule.summary.replace("|", "\\|")
        default = "yes" if rule.default else "no"
        lines.append(f"| {rule.code} | [{rule.name}](#{anchor(rule)}) | {fix} | {default} | {summary} |")
    body = "\n".join(render(rule).replace("# ", "## ", 1).replace("\n## ", "\n### ") for rule in RULES.values())
    return "\n".join(lines) + "\n\n" + body


if __name__ == "__main__":
    import sys

    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        handle.write(catalogue())

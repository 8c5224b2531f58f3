"""Every rule documents itself in ruff's shape, with enough examples, and docs/rules.md is current."""

from __future__ import annotations

import inspect
import re

import pytest
from conftest import ROOT

from jobs_lint.rules import RULES, EngineDiagnostic
from jobs_lint.rules.docs import catalogue

RULE_CODES = [code for code, rule in RULES.items() if not issubclass(rule, EngineDiagnostic)]


@pytest.mark.parametrize("code", list(RULES))
def test_docs_have_rufs_shape(code: str) -> None:
    rule = RULES[code]
    doc = inspect.cleandoc(rule.__doc__ or "")
    assert doc.startswith("## What it does\n"), code
    assert "\n## Why is this bad?\n" in doc, code
    assert re.fullmatch(r"JL\d{3}", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name)
    assert rule.summary and not rule.summary.endswith(".")
    if rule.fix is not None:
        assert "## Fix safety" in doc, f"{code} has a fix: say when it is safe"


@pytest.mark.parametrize("code", [c for c in RULE_CODES if c.startswith(("JL1", "JL2", "JL3", "JL4"))])
def test_job_rules_have_five_examples_each_way(code: str) -> None:
    rule = RULES[code]
    assert len(rule.invalid) >= 5 and len(rule.valid) >= 5, code


def test_rule_names_are_unique() -> None:
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))


def test_generated_docs_are_current() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == catalogue(), "run `make docs`"

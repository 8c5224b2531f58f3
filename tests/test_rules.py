"""Every rule's inline examples: each invalid one is reported (and fixed as documented), no
valid one is."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import findings, fix_with, lint, write_case

from jobs_lint.rules import RULES, Case, EngineDiagnostic

CASES = [
    pytest.param(code, kind, number, case, id=f"{code}-{kind}-{number}")
    for code, rule in RULES.items()
    for kind, cases in (("invalid", rule.invalid), ("valid", rule.valid))
    for number, case in enumerate(cases)
]


@pytest.mark.parametrize(("code", "kind", "number", "case"), CASES)
def test_example(code: str, kind: str, number: int, case: Case, tmp_path: Path) -> None:
    main = write_case(case, tmp_path)
    other = tmp_path / case.checked if case.checked else None
    run = lint([main, *([other] if other else [])], tmp_path)
    # A finding reached in another checked module is reported there, not on the call line too.
    found = findings(run, other or main, code)
    assert not findings(run, main, "JL005"), findings(run, main, "JL005")
    if kind == "valid":
        found += findings(run, main, code) if other else []
        assert found == [], f"{code} reported a valid example:\n{case.code}\n{found}"
        return
    if other:
        assert not [d for d in findings(run, main, code) if d.landing], findings(run, main, code)
    assert found, f"{code} missed an invalid example:\n{case.code}"
    assert case.line is not None and case.message, f"{code} invalid example {number} names no `line=`/`message=`"
    reported = [(d.line, d.message) for d in found]
    assert any(line == case.line and case.message in message for line, message in reported), reported
    if case.fixed is not None:
        assert fix_with(run, main, code, tmp_path) == case.fixed


@pytest.mark.parametrize("code", [c for c, r in RULES.items() if not issubclass(r, EngineDiagnostic)])
def test_fixable_rules_show_a_fix(code: str) -> None:
    rule = RULES[code]
    if rule.fix is not None:
        assert any(case.fixed for case in rule.invalid), f"{code} has a fix but no example of it"

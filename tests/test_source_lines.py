"""Lines are what Python's tokenizer sees: only \\n, \\r\\n and \\r end one. Form feeds, \\x1c-\\x1e,
\\x85 and \\u2028 inside a comment or a string must not move findings, snippets or `# noqa`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs_lint.source import Source

# Characters `str.splitlines` breaks at and Python does not.
NOT_LINE_ENDS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", NOT_LINE_ENDS)
def test_lines_are_the_tokenizers(char: str) -> None:
    source = Source("x.py", f"a = 1  # one{char}still one\r\nb = 'é'\rc = 3\n\nd")
    assert source.lines == [f"a = 1  # one{char}still one\r\n", "b = 'é'\r", "c = 3\n", "\n", "d"]
    assert source.line(2) == "b = 'é'"
    assert source.offset(3, 1) == source.text.index("c = 3")
    assert [source.line_of(source.text.index(word)) for word in "abcd"] == [1, 2, 3, 5]


@pytest.mark.parametrize("char", NOT_LINE_ENDS)
def test_findings_and_noqa_after_such_a_character(jobs_lint, tmp_path: Path, char: str) -> None:
    path = tmp_path / "app.py"
    text = (
        f"# Billing{char}section\n"
        "from celery import Celery\n"
        f"NOTE = 'a{char}b'\n"
        "app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # ünïcode\n"
        "other = Celery('other', task_acks_late=True, result_serializer='pickle')  # noqa: JL101\n"
    )
    path.write_text(text, encoding="utf-8", newline="")
    result = jobs_lint("app.py", "--select", "JL101,JL010", "--output-format", "json", cwd=tmp_path)
    found = [(e["code"], e["location"]["row"], e["location"]["column"]) for e in json.loads(result.out)]
    # Only the pickle of line 4: line 5 has a directive that silences its own, and is in use.
    assert found == [("JL101", 4, 62)]
    text_output = jobs_lint("app.py", "--select", "JL101,JL010", cwd=tmp_path).out
    assert "4 | app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # ünïcode" in text_output
    assert "  |                                                              ^^^^^^^^ JL101" in text_output
    # --fix fixes line 4 and keeps the directive of line 5 and the characters as they were.
    jobs_lint("app.py", "--select", "JL101,JL010", "--fix", cwd=tmp_path)
    assert path.read_bytes().decode() == text.replace("task_serializer='pickle'", "task_serializer='json'")

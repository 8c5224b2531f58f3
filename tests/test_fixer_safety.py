"""The fixer writes files back as they were apart from its edits: in their declared encoding, and
never without a comment or token it did not mean to touch."""

from __future__ import annotations

from pathlib import Path

LATIN = (
    "# -*- coding: latin-1 -*-\n"
    "# Facturation: café, reçu\n"
    "from celery import Celery\n"
    "app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # déjà vu\n"
)


def test_latin_1_file_is_fixed_in_latin_1(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(LATIN.encode("latin-1"))
    result = jobs_lint("billing.py", "--select", "JL101", "--fix", cwd=tmp_path)
    assert (result.code, result.err) == (0, "")
    assert path.read_bytes() == LATIN.replace("'pickle'", "'json'").encode("latin-1")


def test_latin_1_file_diff_and_add_noqa(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(LATIN.encode("latin-1"))
    diff = jobs_lint("billing.py", "--select", "JL101", "--diff", cwd=tmp_path)
    assert diff.code == 1 and "Traceback" not in diff.err and "internal error" not in diff.err
    assert "-app = Celery('billing', task_acks_late=True, task_serializer='pickle')  # déjà vu" in diff.out
    assert "+app = Celery('billing', task_acks_late=True, task_serializer='json')  # déjà vu" in diff.out
    assert path.read_bytes() == LATIN.encode("latin-1")
    added = jobs_lint("billing.py", "--select", "JL101", "--add-noqa", cwd=tmp_path)
    assert (added.code, added.err) == (0, "Added 1 noqa directive.\n")
    expected = LATIN.replace("# déjà vu\n", "# déjà vu  # noqa: JL101\n")
    assert path.read_bytes() == expected.encode("latin-1")
    assert jobs_lint("billing.py", "--select", "JL101", cwd=tmp_path).code == 0
    # The snippet shows the file's own characters.
    path.write_bytes(LATIN.encode("latin-1"))
    assert "# déjà vu" in jobs_lint("billing.py", "--select", "JL101", cwd=tmp_path).out


def test_utf_8_bom_is_kept(jobs_lint, tmp_path: Path) -> None:
    path = tmp_path / "billing.py"
    path.write_bytes(b"\xef\xbb\xbf" + LATIN.split("\n", 1)[1].encode())
    jobs_lint("billing.py", "--select", "JL101", "--fix", cwd=tmp_path)
    assert path.read_bytes() == b"\xef\xbb\xbf" + LATIN.split("\n", 1)[1].replace("'pickle'", "'json'").encode()


# JL302's fix adds `import asyncio` through libcst, which drops the misindented comment `# a`.
LOSSY = (
    "import json\nimport time\n\nasync def poll(ctx, url):\n    time.sleep(5)\n    return url\n\n\n"
    "class WorkerSettings:\n    functions = [poll]\n    job_serializer = json.dumps\n"
    "    job_deserializer = json.loads\n\nx = 1\n  # a\n\n  # b\n"
)


def test_a_fix_that_would_lose_a_comment_is_refused(jobs_lint, tmp_path: Path) -> None:
    import libcst

    assert "# a" not in libcst.parse_module(LOSSY).code  # the round trip this guards against
    path = tmp_path / "jobs.py"
    path.write_text(LOSSY)
    result = jobs_lint(
        "jobs.py", "--select", "JL302", "--fix", "--unsafe-fixes", "--output-format", "concise", cwd=tmp_path
    )
    assert path.read_text() == LOSSY
    assert result.err == "jobs-lint: warning: not fixing jobs.py: it would remove `# a` (line 15)\n"
    assert "jobs.py:5:5: JL302" in result.out and result.code == 1


def test_lost_text_sees_only_what_lies_outside_the_edits() -> None:
    from jobs_lint.preserve import lost_text

    before = "x = f(1)  # keep\ny = 2\n"
    # Replacing `f(1)` by `g(1)` loses nothing outside the edit.
    assert lost_text(before, "x = g(1)  # keep\ny = 2\n", [(4, 8)]) is None
    # Dropping the comment does, and so does dropping `y = 2`; a line added above does not.
    assert lost_text(before, "x = g(1)\ny = 2\n", [(4, 8)]) == "it would remove `# keep` (line 1)"
    assert lost_text(before, "x = g(1)  # keep\n", [(4, 8)]) == "it would remove `y` (line 2)"
    assert lost_text(before, "import g\nx = g(1)  # keep\ny = 2\n", [(4, 8)]) is None
    # An insertion between two tokens touches neither.
    assert lost_text("a(b)\n", "a(c, b)\n", [(2, 2)]) is None
